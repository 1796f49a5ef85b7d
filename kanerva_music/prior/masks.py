"""Training masks of the orderless inpainting network (1 = given, 0 = hidden).

Each episode draws one kind (Coconet's orderless masks, mixed with the structured masks users
ask for; docs/dkm.md, "The prior"):
* count: a number of hidden entries uniform in 1..S*4, then which, uniformly;
* span: a run of steps hidden in every voice, its length uniform in 1..S and its start uniform;
* voices: whole voices hidden, the given ones the soprano, the bass, or both (harmonisation).
"""

from typing import Sequence

import jax
import jax.numpy as jnp

from kanerva_music.data import pitch_classes
from music_runtime.training import sharding

KINDS = ("count", "span", "voices")
# The given voices of the "voices" kind: soprano only, bass only, soprano and bass.
GIVEN_VOICE_SETS = ((1, 0, 0, 0), (0, 0, 0, 1), (1, 0, 0, 1))


def count_masks(rng: jax.Array, shape: tuple) -> jax.Array:
  """[..., S, 4] masks with a uniform number of hidden entries (1..S*4), placed uniformly."""
  rng_count, rng_order = jax.random.split(rng)
  lead, size = shape[:-2], shape[-2] * shape[-1]
  hidden = jax.random.randint(rng_count, lead + (1,), 1, size + 1)
  rank = jnp.argsort(jnp.argsort(jax.random.uniform(rng_order, lead + (size,)), axis=-1),
                     axis=-1)
  return (rank >= hidden).astype(jnp.float32).reshape(shape)


def span_masks(rng: jax.Array, shape: tuple) -> jax.Array:
  """[..., S, 4] masks hiding every voice over a run of steps of uniform length 1..S."""
  rng_length, rng_start = jax.random.split(rng)
  lead, num_steps = shape[:-2], shape[-2]
  length = jax.random.randint(rng_length, lead + (1,), 1, num_steps + 1)
  start = jnp.floor(jax.random.uniform(rng_start, lead + (1,))
                    * (num_steps - length + 1)).astype(jnp.int32)
  step = jnp.arange(num_steps)
  hidden = (step >= start) & (step < start + length)  # [..., S]
  return jnp.broadcast_to(~hidden[..., None], shape).astype(jnp.float32)


def voice_masks(rng: jax.Array, shape: tuple) -> jax.Array:
  """[..., S, 4] masks giving whole voices: one of GIVEN_VOICE_SETS per episode."""
  choice = jax.random.randint(rng, shape[:-2], 0, len(GIVEN_VOICE_SETS))
  given = jnp.asarray(GIVEN_VOICE_SETS, jnp.float32)[choice]  # [..., 4]
  return jnp.broadcast_to(given[..., None, :], shape)


def training_masks(rng: jax.Array, shape: tuple,
                   mix: Sequence[float] = (0.5, 0.25, 0.25)) -> jax.Array:
  """[..., S, 4] masks, each episode of one of KINDS drawn with probabilities `mix`."""
  if len(mix) != len(KINDS):
    raise ValueError(f"mask mix {tuple(mix)}: one probability per kind {KINDS}")
  rng_kind, *rngs = jax.random.split(rng, 1 + len(KINDS))
  kind = jax.random.categorical(rng_kind, jnp.log(jnp.asarray(mix, jnp.float32)), shape=shape[:-2])
  candidates = jnp.stack([count_masks(rngs[0], shape), span_masks(rngs[1], shape),
                          voice_masks(rngs[2], shape)])
  return jnp.take_along_axis(candidates, kind[None, ..., None, None], axis=0)[0]


def fixed_training_masks(seed: int, shape: tuple, mix: tuple[float, ...]) -> jax.Array:
  """`training_masks` of PRNGKey(seed), as one quickly compiled program (an evaluation's fixed
  masks, drawn once)."""
  return _fixed_masks_program()(seed, shape, mix)


_fixed_masks_program = sharding.quick_jit(
    lambda seed, shape, mix: training_masks(jax.random.PRNGKey(seed), shape, mix),
    static_argnums=(0, 1, 2))


def given_voices_mask(voices: str, episode_steps: int) -> jax.Array:
  """[S, 4] mask giving the voices named by letters of "SATB" (e.g. "S", "SB")."""
  unknown = set(voices) - set("SATB")
  if unknown or not voices:
    raise ValueError(f"given voices {voices!r}: letters of SATB")
  given = [float(v in voices) for v in "SATB"]
  return jnp.broadcast_to(jnp.asarray(given, jnp.float32), (episode_steps,
                                                            pitch_classes.NUM_VOICES))
