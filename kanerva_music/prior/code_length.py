"""Code lengths of whole episodes by the chain rule along random orders (orderless NADE).

For an order o of the S * 4 entries, -sum_i log2 p(x_{o_i} | x_{o_1} .. x_{o_{i-1}}), the
network reading the entries before o_i as given and the rest as hidden, is the length an
arithmetic coder along that order achieves (Uria, Murray and Larochelle 2014, section 3;
Coconet, Huang et al. 2017, section 5): a real code length, not a bound. `block` > 1 codes
`block` entries at a time from one network call (each given the entries of earlier blocks,
the block's entries as independent): still a real code, at most as short as block 1.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.prior import network
from kanerva_music.prior import objective


def random_orders(rng: np.random.Generator, num_orders: int, num_entries: int) -> np.ndarray:
  """[num_orders, num_entries] random permutations of the flat (step-major) entries."""
  return np.stack([rng.permutation(num_entries) for _ in range(num_orders)]).astype(np.int32)


@functools.partial(jax.jit, static_argnames=("net", "block"))
def chain_rule_bits(params: dict, notes: jax.Array, orders: jax.Array, *,
                    net: network.InpaintingNet, block: int = 1) -> jax.Array:
  """Bits [N, O] of each episode notes [N, S, 4] along each order [O, S*4].

  Each (episode, order) pair is one batch of S*4/block network calls, one per position of the
  chain: call j gives the entries of blocks < j and scores those of block j.
  """
  num_steps, num_voices = notes.shape[-2:]
  size = num_steps * num_voices
  if size % block:
    raise ValueError(f"block {block} does not divide the {size} entries of an episode")
  chunks = size // block

  def one(args):
    x, order = args  # [S, 4], [size]
    rank = jnp.zeros((size,), jnp.int32).at[order].set(jnp.arange(size, dtype=jnp.int32))
    chunk_of = rank // block                                  # [size]
    position = jnp.arange(chunks)[:, None]                    # [chunks, 1]
    given = (chunk_of[None, :] < position).astype(jnp.float32)  # [chunks, size]
    scored = (chunk_of[None, :] == position).astype(jnp.float32)
    inputs = jnp.broadcast_to(x, (chunks,) + x.shape)
    logits = objective.apply(net, params, inputs, given.reshape(inputs.shape))
    nll = objective.note_nll(logits, inputs).reshape(chunks, size)
    return jnp.sum(nll * scored) / math.log(2.0)

  pairs = jnp.broadcast_to(notes[:, None], (notes.shape[0], orders.shape[0]) + notes.shape[1:])
  flat = (pairs.reshape((-1,) + notes.shape[1:]),
          jnp.broadcast_to(orders[None], (notes.shape[0],) + orders.shape).reshape(-1, size))
  return jax.lax.map(one, flat).reshape(notes.shape[0], orders.shape[0])
