"""Completion and denoising reads of the codec DKM, one memory at a time (Rangasayee & Fan,
eqs. 4-6).

* `encoder_read` (read (a)): the cue is encoded with its mask, the address solved from the
  observed blocks' code entries against the memory mean (eq. 6 in code space), the read-out
  decoded with the cue's notes; with num_iters > 1, attractor iterations (eq. 5): the decoded
  notes fill the masked ones, the whole guess is re-encoded and read with every block observed,
  and decoded again with the cue's notes. The observed notes are always the cue's.
* `optimised_read` (read (b)): from the encoder read's address, gradient steps on
  ln p(observed notes | decoder(R^T w)) - ||w||^2 / (2 sigma_p^2), the decoder given no notes so
  that the memory's read-out alone must explain the cue; then decoded with the cue's notes.
  Unlike the encoder read it uses partially observed blocks too (random masks).
* `denoise_read`: every block of the noisy cue observed, decoded from the read-out alone.
* `autoencoder_read`: no memory; the decoder given the episode's own code, encoded from every
  note, as an exact read-out. It sees the answer, so it is not a read but the ceiling of every read
  from a memory that returns codes exactly: the autoencoder's own error.
A memory-off read is `encoder_read` against the prior mean R0 (nothing written).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import optax

from kanerva_music.codec import objective
from kanerva_music.memory import dkm
from kanerva_music.memory import model


class ReadResult(NamedTuple):
  predictions: jax.Array  # [I, Q, S, 4] argmax pitch classes after each iteration (cue clamped)
  logits: jax.Array       # [Q, S, 4, 46] of the last iteration


def _predict(logits, notes, mask):
  return jnp.where(mask != 0, notes, jnp.argmax(logits, axis=-1))


def encoder_read(codec: objective.Codec, params: dict, memory_mean: jax.Array, notes: jax.Array,
                 mask: jax.Array, model_config: ConfigDict, method: str,
                 num_iters: int) -> ReadResult:
  """Read (a) with `num_iters` >= 1 iterations for cues [Q, S, 4] under masks [Q, S, 4]."""
  codes = objective.encode(codec, params, notes, mask)
  read = objective.masked_read(memory_mean, codes, objective.code_mask(codec, mask),
                               model_config, method)
  logits = objective.decode(codec, params, read, notes, mask)
  ones = jnp.ones(mask.shape, jnp.float32)

  def iterate(logits, _):
    guess = _predict(logits, notes, mask)
    codes = objective.encode(codec, params, guess, ones)
    read = objective.masked_read(memory_mean, codes, jnp.ones_like(codes), model_config,
                                 method)
    logits = objective.decode(codec, params, read, notes, mask)
    return logits, _predict(logits, notes, mask)

  first = _predict(logits, notes, mask)
  logits, rest = jax.lax.scan(iterate, logits, None, length=num_iters - 1)
  return ReadResult(jnp.concatenate([first[None], rest]), logits)


def autoencoder_read(codec: objective.Codec, params: dict, notes: jax.Array,
                     mask: jax.Array) -> ReadResult:
  """The decoder's own accuracy [Q, S, 4]: decode the full episode's code with the cue."""
  codes = objective.encode(codec, params, notes, jnp.ones(mask.shape, jnp.float32))
  logits = objective.decode(codec, params, objective.trusted(codes), notes, mask)
  return ReadResult(_predict(logits, notes, mask)[None], logits)


def optimised_read(codec: objective.Codec, params: dict, memory_mean: jax.Array,
                   notes: jax.Array, mask: jax.Array, model_config: ConfigDict,
                   method: str, num_steps: int, learning_rate: float) -> ReadResult:
  """Read (b): `num_steps` Adam steps on each cue's address, then one decode with the cue."""
  codes = objective.encode(codec, params, notes, mask)
  start = dkm.solve_address(memory_mean, codes, objective.code_mask(codec, mask),
                            method=method,
                            **model.solve_options(model_config))
  nothing = jnp.zeros(mask.shape, jnp.float32)

  def negative_log_posterior(w):
    logits = objective.decode(codec, params, objective.trusted(w @ memory_mean), notes, nothing)
    observed_nll = jnp.sum(objective.note_nll(logits, notes) * mask)
    return observed_nll + 0.5 * jnp.sum(w * w) / model_config.prior_std**2

  optimizer = optax.adam(learning_rate)

  def step(carry, _):
    w, state = carry
    grads = jax.grad(negative_log_posterior)(w)
    updates, state = optimizer.update(grads, state, w)
    return (optax.apply_updates(w, updates), state), None

  (w, _), _ = jax.lax.scan(step, (start, optimizer.init(start)), None, length=num_steps)
  readout = w @ memory_mean
  cue_mask = objective.code_mask(codec, mask)
  read = objective.Read(readout, objective.fit_of(readout, codes, cue_mask))
  logits = objective.decode(codec, params, read, notes, mask)
  return ReadResult(_predict(logits, notes, mask)[None], logits)


def denoise_read(codec: objective.Codec, params: dict, memory_mean: jax.Array, noisy: jax.Array,
                 model_config: ConfigDict, method: str, num_iters: int) -> ReadResult:
  """Denoising noisy cues [Q, S, 4]: read with every block observed, decode from the read-out
  alone (no notes given), re-encode the decoded notes and read again."""
  ones = jnp.ones(noisy.shape, jnp.float32)
  nothing = jnp.zeros(noisy.shape, jnp.float32)

  def read(guess):
    codes = objective.encode(codec, params, guess, ones)
    read = objective.masked_read(memory_mean, codes, jnp.ones_like(codes), model_config, method)
    return objective.decode(codec, params, read, noisy, nothing)

  def iterate(logits, _):
    logits = read(jnp.argmax(logits, axis=-1))
    return logits, jnp.argmax(logits, axis=-1)

  logits = read(noisy)
  first = jnp.argmax(logits, axis=-1)
  logits, rest = jax.lax.scan(iterate, logits, None, length=num_iters - 1)
  return ReadResult(jnp.concatenate([first[None], rest]), logits)
