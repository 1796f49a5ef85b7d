"""Layers both models use: the k-winners-take-all sparse code."""

import jax
import jax.numpy as jnp

KWTA_METHODS = ("auto", "top_k", "threshold")
# `auto` finds the winners by the threshold search when k >= max(THRESHOLD_FROM_K, D / 32), by
# `lax.top_k` otherwise. On XLA:CPU top_k's time grows with k while the threshold search costs
# 32 counting passes over the D activations whatever k is: at 2,048 code steps it is 1.3-2.1x
# faster from k = 8-16 at D = 100, 1.5x from k = 16 at D = 200, 1.1-1.2x from k = 32 at
# D = 1,000 (`python -m tcn_wta.tools.benchmark --sweep`, docs/performance.md).
THRESHOLD_FROM_K = 16


def uses_threshold(k: int, num_atoms: int) -> bool:
  """Whether `auto` finds k winners of num_atoms by the threshold search."""
  return k >= max(THRESHOLD_FROM_K, num_atoms // 32)


def k_winners_take_all(h: jax.Array, k: int, method: str = "auto") -> jax.Array:
  """Keeps the k largest of the last axis at every position; the rest become 0.

  Exactly k entries survive per position (ties broken by index, the lower first; -0.0 ranks
  below 0.0); gradients flow through them. Both methods choose the same winners.

  Args:
    h: [..., D] activations.
    k: how many survive, 1 <= k <= D.
    method: "top_k", "threshold" or "auto" (`uses_threshold`).

  Returns:
    [..., D], h where it is among the k largest of its position, else 0.
  """
  if method not in KWTA_METHODS:
    raise ValueError(f"Unknown k-WTA method {method!r}; expected one of {KWTA_METHODS}")
  if method == "threshold" or (method == "auto" and uses_threshold(k, h.shape[-1])):
    return jnp.where(_winner_mask(h, k), h, jnp.zeros((), h.dtype))
  _, winners = jax.lax.top_k(h, k)
  return h * winners_to_code(jnp.ones(winners.shape, h.dtype), winners, h.shape[-1])


def _ordered_keys(h):
  """Integers in the floats' total order (IEEE bits, negatives' magnitude bits flipped): -0.0
  below 0.0, as `lax.top_k` orders them."""
  int_dtype = jnp.dtype(f"int{jnp.finfo(h.dtype).bits}")
  bits = jax.lax.bitcast_convert_type(h, int_dtype)
  return jnp.where(bits < 0, bits ^ jnp.array(jnp.iinfo(int_dtype).max, int_dtype), bits)


def _winner_mask(h, k):
  """[..., D] bool, True at the k largest of each position: a bisection over the ordered keys
  for the k-th largest (one counting pass per bit), then ties at it resolved by index."""
  keys = _ordered_keys(h)
  info = jnp.iinfo(keys.dtype)

  def halve(_, bounds):
    low, high = bounds  # invariant: count(keys >= low) >= k > count(keys >= high)
    mid = (low >> 1) + (high >> 1) + (low & high & 1)  # floor((low + high) / 2), no overflow
    enough = jnp.sum((keys >= mid[..., None]).astype(jnp.int32), axis=-1) >= k
    return jnp.where(enough, mid, low), jnp.where(enough, high, mid)

  start = (jnp.full(keys.shape[:-1], info.min, keys.dtype),
           jnp.full(keys.shape[:-1], info.max, keys.dtype))
  kth = jax.lax.fori_loop(0, info.bits, halve, start)[0][..., None]
  keep = keys >= kth

  def untie(_):
    above, tied = keys > kth, keys == kth
    places = k - jnp.sum(above, axis=-1, keepdims=True)
    return above | (tied & (jnp.cumsum(tied, axis=-1) <= places))

  # Ties at the k-th value are rare in trained activations: resolve them only when present.
  return jax.lax.cond(jnp.any(jnp.sum(keep, axis=-1) > k), untie, lambda _: keep, None)


def winners_to_code(values: jax.Array, indices: jax.Array, size: int) -> jax.Array:
  """The dense code [..., size] holding `values` [..., k] at `indices` [..., k], 0 elsewhere."""
  k = indices.shape[-1]
  flat_indices = indices.reshape(-1, k)
  rows = jnp.arange(flat_indices.shape[0])[:, None]
  # A scatter, not one_hot(indices): that would hold k x size values per code step.
  code = jnp.zeros((flat_indices.shape[0], size), values.dtype)
  code = code.at[rows, flat_indices].set(values.reshape(-1, k))
  return code.reshape(*indices.shape[:-1], size)
