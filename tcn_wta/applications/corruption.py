"""Corrupted inputs: the cleaning measurements and denoising training (docs/tcn_wta.md,
"Applications", 1).

Drums and rolls: in every window exactly round(drop x played) of its played cells (hits, or
key x step cells) are removed and round(add x played) silent cells (or all of them, if fewer) are
switched on at the window's mean velocity (offset 0 for drums). Events: every token is replaced by
a uniformly random token with probability `drop` (adding or removing events would shift
everything after them). Pure jnp on a batch [B, ...], so training can corrupt on device.
"""

import jax
import jax.numpy as jnp

from tcn_wta.datasets import groove


def _lowest(u, eligible, count):
  """The `count` [B, 1] eligible entries of each row [B, N] with the lowest u (distinct values in
  [0, 1)): one sort per row, then a comparison with the count-th lowest eligible value."""
  ordered = jnp.sort(jnp.where(eligible, u, 2.0), axis=-1)
  ordered = jnp.concatenate([ordered, jnp.full_like(ordered[:, :1], 2.0)], axis=-1)
  index = jnp.clip(count, 0, ordered.shape[-1] - 1).astype(jnp.int32)
  return eligible & (u < jnp.take_along_axis(ordered, index, axis=-1))


def corrupt_cells(played, rng, drop, add):
  """(cells to switch off, cells to switch on), boolean like `played` [B, ...]: a uniformly
  random choice of round(drop x n) played and round(add x n) silent cells per window, n = the
  window's played cells."""
  flat = played.reshape(played.shape[0], -1)
  count = jnp.sum(flat, axis=-1, keepdims=True)
  u = jax.random.uniform(rng, flat.shape)
  off = _lowest(u, flat, jnp.round(drop * count))
  on = _lowest(u, ~flat, jnp.round(add * count))
  return off.reshape(played.shape), on.reshape(played.shape)


def _mean_where(values, mask, default):
  count = jnp.sum(mask, axis=(1, 2), keepdims=True)
  total = jnp.sum(jnp.where(mask, values, 0.0), axis=(1, 2), keepdims=True)
  return jnp.where(count > 0, total / jnp.maximum(count, 1), default)


def corrupt_drums(windows, rng, drop=0.2, add=0.2):
  """[B, L, 27] GrooVAE tensors with hits removed and added."""
  n = groove.NUM_CLASSES
  windows = jnp.asarray(windows, jnp.float32)
  hit, velocity, offset = windows[..., :n], windows[..., n:2 * n], windows[..., 2 * n:]
  played = hit > 0.5
  off, on = corrupt_cells(played, rng, drop, add)
  mean_velocity = _mean_where(velocity, played, 0.7)
  return jnp.concatenate([jnp.where(on, 1.0, jnp.where(off, 0.0, hit)),
                          jnp.where(on, mean_velocity, jnp.where(off, 0.0, velocity)),
                          jnp.where(on | off, 0.0, offset)], axis=-1)


def corrupt_roll(windows, rng, drop=0.2, add=0.2):
  """[B, L, keys] piano rolls with notes removed and added."""
  windows = jnp.asarray(windows, jnp.float32)
  played = windows > 0.5
  off, on = corrupt_cells(played, rng, drop, add)
  return jnp.where(on, _mean_where(windows, played, 1.0), jnp.where(off, 0.0, windows))


def corrupt_events(tokens, rng, num_events, drop=0.2):
  """[B, L] token ids, each replaced by a random one with probability `drop`."""
  tokens = jnp.asarray(tokens)
  replace_rng, token_rng = jax.random.split(rng)
  replace = jax.random.uniform(replace_rng, tokens.shape) < drop
  random_tokens = jax.random.randint(token_rng, tokens.shape, 0, num_events).astype(tokens.dtype)
  return jnp.where(replace, random_tokens, tokens)
