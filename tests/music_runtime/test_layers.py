"""k-winners-take-all: both ways of finding the winners choose the same ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from music_runtime.training import layers


def _numpy_kwta(h, k):
  """float64 oracle: a sort by value, then 0.0 before -0.0, then the lower index first."""
  flat = h.reshape(-1, h.shape[-1])
  order = np.stack([np.lexsort((np.arange(row.size), np.signbit(row), -row)) for row in flat])
  order = order.reshape(h.shape)[..., :k]
  out = np.zeros_like(h)
  np.put_along_axis(out, order, np.take_along_axis(h, order, -1), -1)
  return out


@pytest.mark.parametrize("method", ["top_k", "threshold"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,ties", [(1, False), (4, False), (4, True), (10, False), (10, True)])
def test_kwta_equals_a_stable_sort(method, dtype, k, ties):
  rng = np.random.default_rng(k)
  h = rng.normal(size=(3, 6, 10)) * 3
  if ties:  # few distinct values, signed zeros among them
    h = np.round(h)
  h[0, 0, :3] = -0.0
  h = h.astype(dtype)
  with jax.enable_x64(dtype == np.float64):
    ours = jax.jit(layers.k_winners_take_all, static_argnums=(1, 2))(jnp.asarray(h), k, method)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(np.asarray(ours) != 0, _numpy_kwta(h, k) != 0)
    np.testing.assert_array_equal(ours, _numpy_kwta(h, k))


def test_threshold_and_top_k_pass_the_same_gradients():
  h = jnp.asarray(np.round(np.random.default_rng(0).normal(size=(4, 50)) * 2), jnp.float32)
  grads = {method: jax.grad(lambda h, m=method: jnp.sum(jnp.sin(
      layers.k_winners_take_all(h, 20, m)) * jnp.arange(50.0)))(h)
           for method in ("top_k", "threshold")}
  np.testing.assert_array_equal(grads["top_k"], grads["threshold"])


def test_auto_switches_to_the_threshold_from_its_k():
  assert not layers.uses_threshold(layers.THRESHOLD_FROM_K - 1, 100)
  assert layers.uses_threshold(layers.THRESHOLD_FROM_K, 100)
  assert not layers.uses_threshold(16, 1000) and layers.uses_threshold(75, 1000)
  h = jnp.asarray(np.random.default_rng(1).normal(size=(2, 100)), jnp.float32)
  for k in (layers.THRESHOLD_FROM_K - 1, layers.THRESHOLD_FROM_K):
    np.testing.assert_array_equal(layers.k_winners_take_all(h, k),
                                  layers.k_winners_take_all(h, k, "top_k"))
  with pytest.raises(ValueError, match="Unknown k-WTA method 'topk'"):
    layers.k_winners_take_all(h, 3, "topk")


def test_winners_to_code_places_values():
  code = layers.winners_to_code(jnp.array([[[2.0, 3.0]]]), jnp.array([[[4, 0]]]), 5)
  np.testing.assert_array_equal(code, [[[3.0, 0, 0, 0, 2.0]]])
