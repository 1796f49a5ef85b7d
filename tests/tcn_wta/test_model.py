"""tcn_wta.model: k winners per code step, one-hot codes decode to their atom, any length a
multiple of the patch, a causal encoder, the k schedule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tcn_wta import model as model_lib
from tests.conftest import make_net


def test_kwta_keeps_exactly_k_per_code_step():
  net = make_net()
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 24, 5))
  params = net.init(jax.random.PRNGKey(1), x, 2)
  apply = jax.jit(net.apply, static_argnums=2)  # one program per k, not one per operation
  for k in (1, 2, 5):
    _, code = apply(params, x, k)
    assert code.shape == (3, 6, 7)
    np.testing.assert_array_equal(np.sum(np.asarray(code) != 0, axis=-1), k)
    dense = net.apply(params, x, method=net.encode_dense)
    # The survivors are the k largest dense activations.
    kth = np.sort(np.asarray(dense), axis=-1)[..., -k][..., None]
    assert np.all(np.asarray(dense)[np.asarray(code) != 0].min() >= kth.min())
    np.testing.assert_array_equal(np.asarray(code)[np.asarray(code) != 0],
                                  np.asarray(dense)[np.asarray(code) != 0])


def test_decoding_a_one_hot_code_gives_the_atom_at_its_position():
  net = make_net()
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 16, 5)), 1)
  atoms = np.asarray(params["params"]["dictionary"])
  for step, atom in [(0, 3), (2, 6)]:
    code = np.zeros((1, 4, 7), np.float32)
    code[0, step, atom] = 2.0
    out = np.asarray(net.apply(params, jnp.asarray(code), method=net.decode))[0]
    expected = np.zeros((16, 5), np.float32)
    expected[4 * step:4 * step + 4] = 2.0 * atoms[atom]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_any_length_multiple_of_patch_and_clear_error_otherwise():
  net = make_net()
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 16, 5)), 1)
  apply = jax.jit(net.apply, static_argnums=2)
  for length in (4, 12, 40):
    recon, _ = apply(params, jnp.ones((2, length, 5)), 2)
    assert recon.shape == (2, length, 5)
  with pytest.raises(ValueError, match="Length 10 is not a multiple of the patch size 4"):
    net.apply(params, jnp.ones((1, 10, 5)), 1)


def test_encoder_is_causal_before_the_atom_layer():
  net = make_net()
  x = jax.random.normal(jax.random.PRNGKey(2), (1, 16, 5))
  params = net.init(jax.random.PRNGKey(1), x, 1)
  dense = np.asarray(net.apply(params, x, method=net.encode_dense))
  changed = x.at[0, 12:].set(0.0)  # the last code step's input only
  dense2 = np.asarray(net.apply(params, changed, method=net.encode_dense))
  np.testing.assert_allclose(dense[0, :3], dense2[0, :3], rtol=1e-6)
  assert not np.allclose(dense[0, 3], dense2[0, 3])


def test_k_schedule_decays_to_its_floor():
  from ml_collections import ConfigDict  # pylint: disable=import-outside-toplevel
  schedule = ConfigDict(dict(k_start=95, k_end=75, k_decrement=5, decay_every=10))
  assert [model_lib.k_at_step(schedule, s) for s in (0, 9, 10, 25, 40, 1000)] == [
      95, 95, 90, 85, 75, 75]
