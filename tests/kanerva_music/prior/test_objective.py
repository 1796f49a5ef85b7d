"""kanerva_music.prior.objective: the hidden-entry loss against a float64 NumPy oracle."""

import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.prior import network
from kanerva_music.prior import objective
from tests.kanerva_music.prior.tiny import S, log_softmax64, random_notes, tiny_net


@pytest.mark.parametrize("kind", network.KINDS)
def test_hidden_nll_equals_a_float64_oracle(kind):
  net, params = tiny_net(kind)
  rng = np.random.default_rng(0)
  notes = random_notes(rng, (5,))
  mask = jnp.asarray(rng.random((5, S, 4)) < 0.5, jnp.float32).at[0].set(1.0)  # 0: none hidden
  logits = objective.apply(net, params, notes, mask)
  logp = log_softmax64(logits)
  nll = -np.take_along_axis(logp, np.asarray(notes)[..., None], -1)[..., 0]
  hidden = np.asarray(mask) == 0
  expected = [(nll[e] * hidden[e]).sum() / max(hidden[e].sum(), 1) for e in range(5)]
  np.testing.assert_allclose(objective.hidden_nll(logits, notes, mask), expected, rtol=1e-5)
  assert float(objective.hidden_nll(logits, notes, mask)[0]) == 0.0
  np.testing.assert_allclose(objective.loss(net, params, notes, mask), np.mean(expected),
                             rtol=1e-5)
