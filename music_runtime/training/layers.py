"""Layers both models use: the k-winners-take-all sparse code."""

import jax
import jax.numpy as jnp


def k_winners_take_all(h: jax.Array, k: int) -> jax.Array:
  """Keeps the k largest of the last axis at every position; the rest become 0.

  Exactly k entries survive per position (ties broken by index); gradients flow through them.

  Args:
    h: [..., D] activations.
    k: how many survive, 1 <= k <= D.

  Returns:
    [..., D], h where it is among the k largest of its position, else 0.
  """
  _, winners = jax.lax.top_k(h, k)
  flat_winners = winners.reshape(-1, k)
  rows = jnp.arange(flat_winners.shape[0])[:, None]
  # A scatter, not one_hot(winners): that would hold k x D values per code step.
  keep = jnp.zeros((flat_winners.shape[0], h.shape[-1]), h.dtype).at[rows, flat_winners].set(1)
  return h * keep.reshape(h.shape)
