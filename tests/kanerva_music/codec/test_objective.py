"""kanerva_music.codec.objective: the categorical ELBO against a float64 NumPy oracle, the code
mask."""

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.codec import objective
from tests.kanerva_music.test_codec import S
from tests.kanerva_music.test_codec import T
from tests.kanerva_music.test_codec import oracle_elbo
from tests.kanerva_music.test_codec import random_notes
from tests.kanerva_music.test_codec import tiny_codec


def test_categorical_elbo_equals_float64_numpy_oracle():
  with jax.enable_x64(True):
    config, codec = tiny_codec()
    params = objective.init_params(codec, jax.random.PRNGKey(0), config.model)
    params = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params)
    x = random_notes(np.random.default_rng(0))
    written = objective.write(codec, params, x, config.model, None)
    rng = jax.random.PRNGKey(3)
    terms = objective.elbo_terms(codec, params, x, written, config.model, rng)
    # The same draws as elbo_terms: w = mu + sigma_w eps_w, then the read-out's noise.
    rng_w, rng_m = jax.random.split(rng)
    k, code_size = config.model.num_rows, codec.code_size
    eps_w = np.asarray(jax.random.normal(rng_w, (T, k), jnp.float64))
    eps_m = np.asarray(jax.random.normal(rng_m, (T, code_size), jnp.float64))
    z = np.asarray(objective.encode(codec, params, x, jnp.ones(x.shape)), np.float64)
    sigma_w = float(jax.nn.softplus(params["address_std_raw"]))
    nothing = jnp.zeros(x.shape)
    decode = lambda r: objective.decode(codec, params, objective.trusted(jnp.asarray(r)), x,
                                        nothing)
    expected = oracle_elbo(z, x, np.asarray(params["prior_mean"], np.float64),
                           config.model.init_cov_scale * np.eye(k), config.model.obs_noise_std,
                           sigma_w, eps_w, eps_m, decode)
    np.testing.assert_allclose([float(terms.log_likelihood), float(terms.kl_address),
                                float(terms.kl_memory)], expected, rtol=1e-8)
    # The code length in bits is -L_T / ln 2; uniform guessing would cost log2(46) per note.
    assert terms.log_likelihood < 0 and terms.kl_memory > 0


def test_code_mask_observes_a_block_only_when_every_note_is():
  _, codec = tiny_codec()
  mask = np.ones((2, S, 4), np.float32)
  mask[0, 6, 1] = 0  # one note of block 1
  mask[1, :4] = 0  # all of block 0
  got = np.asarray(objective.code_mask(codec, jnp.asarray(mask)))
  np.testing.assert_array_equal(got, [[1] * 4 + [0] * 4, [0] * 4 + [1] * 4])
