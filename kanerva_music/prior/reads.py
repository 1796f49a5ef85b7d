"""Reads of the inpainting network: fill the hidden entries of episodes [..., S, 4].

* `one_pass`: every hidden entry at its most probable pitch given the given entries (the
  per-entry argmax maximises the expected number of exact pitches: the report's metric);
* `gibbs`: Coconet's annealed blocked Gibbs sampling (Huang et al., ISMIR 2017, section 4: Yao
  et al.'s schedule), one coherent fill to listen to: each of N steps resamples a random share
  of the hidden entries given all the others, the share falling linearly from 1 to
  `min_share` over the first 3/4 of the steps.
Given entries are never changed.
"""

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from kanerva_music.prior import network
from kanerva_music.prior import objective

READS = ("one_pass", "gibbs")
ANNEAL_FRACTION = 0.75  # Coconet's eta: the share reaches its floor after this part of the steps


class Fill(NamedTuple):
  notes: jax.Array    # [..., S, 4] given entries kept, hidden ones filled
  logits: jax.Array   # [..., S, 4, 46] the one-pass distribution given the given entries


def one_pass(net: network.InpaintingNet, params: dict, notes: jax.Array, mask: jax.Array,
             context: Optional[jax.Array] = None) -> Fill:
  """The argmax fill of the hidden entries (mask == 0) of episodes [..., S, 4] (with a memory's
  `context` [..., S, F], `memory_context.contexts`)."""
  logits = objective.apply(net, params, notes, mask, context)
  return Fill(jnp.where(mask != 0, notes, jnp.argmax(logits, axis=-1)), logits)


def block_share(step: jax.Array, num_steps: int, min_share: float) -> jax.Array:
  """The share of the hidden entries resampled at Gibbs step `step` (0-based) of `num_steps`."""
  fall = step / jnp.maximum(ANNEAL_FRACTION * num_steps, 1.0)
  return jnp.maximum(min_share, 1.0 - fall * (1.0 - min_share))


def gibbs(net: network.InpaintingNet, params: dict, notes: jax.Array, mask: jax.Array,
          rng: jax.Array, *, num_steps: int, min_share: float = 0.05, temperature: float = 1.0,
          context: Optional[jax.Array] = None) -> Fill:
  """One sample of the hidden entries by annealed blocked Gibbs sampling.

  Args:
    net, params: the inpainting network.
    notes: [..., S, 4] pitch classes (hidden entries' values are ignored).
    mask: [..., S, 4] 1 = given (never changed), 0 = hidden.
    rng: a PRNG key.
    num_steps: Gibbs steps; the first resamples every hidden entry.
    min_share: the share of hidden entries resampled at the end.
    temperature: the logits are divided by it before sampling.
    context: a memory's context [..., S, F] read from the given entries (None: none), the same
      at every step.

  Returns:
    Fill(sampled notes, one-pass logits).
  """
  hidden = mask == 0
  first = objective.apply(net, params, notes, mask, context)

  def step(n, carry):
    x, key = carry
    key, key_block, key_sample = jax.random.split(key, 3)
    share = block_share(n, num_steps, min_share)
    block = hidden & (jax.random.uniform(key_block, hidden.shape) < share)
    logits = objective.apply(net, params, x, 1.0 - block, context)
    sample = jax.random.categorical(key_sample, logits / temperature)
    return jnp.where(block, sample, x), key

  start = jnp.where(hidden, 0, notes)
  filled, _ = jax.lax.fori_loop(0, num_steps, step, (start, rng))
  return Fill(filled, first)
