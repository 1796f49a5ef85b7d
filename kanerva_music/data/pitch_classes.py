"""Episodes as pitch classes: the categorical view of a 2-bar window that the networks read.

A pitch class is MIDI pitch - 36, so 0..45 covers the JSB range [36, 81]; an episode [..., C]
(time-major, `episodes.normalise`d) is [..., S, 4] pitch classes, voices soprano, alto, tenor,
bass.
"""

from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.data import episodes

NUM_PITCHES = episodes.PITCH_HIGH - episodes.PITCH_LOW + 1  # 46
NUM_VOICES = 4
SOPRANO, ALTO, TENOR, BASS = range(NUM_VOICES)


def array_module(x: Any) -> Any:
  """NumPy for a NumPy array (host data: nothing to compile or copy to a device), jnp
  otherwise (device arrays and tracers)."""
  return np if isinstance(x, np.ndarray) else jnp


def from_normalised(x: Union[np.ndarray, jax.Array], episode_steps: int) -> Any:
  """Normalised episodes [..., C] -> pitch classes 0..45 [..., S, 4] (int32): a NumPy array for a
  NumPy input (host data needs no device program), a jax.Array otherwise."""
  xp = array_module(x)
  pitch = xp.clip(xp.round(episodes.denormalise(x)), episodes.PITCH_LOW, episodes.PITCH_HIGH)
  return (pitch - episodes.PITCH_LOW).astype(xp.int32).reshape(
      x.shape[:-1] + (episode_steps, NUM_VOICES))


def to_normalised(classes: Union[np.ndarray, jax.Array]) -> Any:
  """Pitch classes [..., S, 4] -> normalised, time-major episodes [..., 4 S] (float32), a NumPy
  array for a NumPy input."""
  xp = array_module(classes)
  flat = classes.reshape(classes.shape[:-2] + (-1,)).astype(xp.float32)
  return episodes.normalise(flat + episodes.PITCH_LOW)


def voice_ranges(windows: np.ndarray, episode_steps: int) -> np.ndarray:
  """[2, 4] int32: the lowest and highest pitch class of each voice in normalised windows
  [N, C] (the training split's: transposition keeps every voice inside it)."""
  classes = from_normalised(np.asarray(windows), episode_steps)
  return np.stack([classes.min(axis=(0, 1)), classes.max(axis=(0, 1))]).astype(np.int32)


def transpose(rng: jax.Array, notes: jax.Array, max_semitones: int,
              ranges: Optional[jax.Array] = None) -> jax.Array:
  """Each episode [..., S, 4] shifted by a uniform whole number of semitones in
  +-max_semitones that keeps every voice inside its range.

  Args:
    rng: a PRNG key.
    notes: pitch classes [..., S, 4].
    max_semitones: the largest shift either way.
    ranges: [2, 4] lowest and highest class of each voice (`voice_ranges`); None: 0..45 for
      every voice. An episode already outside a voice's range is left where it is.

  Returns:
    Shifted pitch classes, same shape and dtype.
  """
  if ranges is None:
    ranges = jnp.asarray([[0] * NUM_VOICES, [NUM_PITCHES - 1] * NUM_VOICES])
  ranges = jnp.asarray(ranges, notes.dtype)
  low = jnp.max(ranges[0] - jnp.min(notes, axis=-2), axis=-1)   # [...]
  high = jnp.min(ranges[1] - jnp.max(notes, axis=-2), axis=-1)
  low = jnp.maximum(low, -max_semitones)
  high = jnp.minimum(high, max_semitones)
  ok = high >= low
  draw = low + jnp.floor(jax.random.uniform(rng, low.shape) * (high - low + 1)).astype(
      notes.dtype)
  shift = jnp.where(ok, jnp.clip(draw, low, high), 0)
  return notes + shift[..., None, None]
