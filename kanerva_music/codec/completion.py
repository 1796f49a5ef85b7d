"""The codec DKM's read for the completion tool: fill windows of a user's chorale."""

import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.codec import objective
from kanerva_music.codec import reads
from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.training import config_checks

READS = ("encoder", "attractor", "optimised")


def complete_windows(config: ConfigDict, params: dict, stored: np.ndarray, cues: np.ndarray,
                     masks: np.ndarray, read: str = "encoder") -> np.ndarray:
  """Pitches [W, S, 4] of windows cues [W, C] (normalised, time-major) completed under masks
  [W, C] (1 = given) from a memory storing stored [T, C]; given notes are kept."""
  if read not in READS:
    raise ValueError(f"codec read {read!r}; expected one of {READS}")
  steps = config.data.episode_steps
  codec = objective.make_codec(config)
  frozen = config_checks.freeze(config.model)
  to_classes = lambda x: pitch_classes.from_normalised(jnp.asarray(x, jnp.float32), steps)
  written = objective.write(codec, params, to_classes(stored), frozen, None)
  notes = to_classes(np.where(np.asarray(masks) != 0, cues, -1.0))
  mask = jnp.asarray(np.asarray(masks, np.float32).reshape(len(masks), steps, 4))
  if read == "optimised":
    result = reads.optimised_read(codec, params, written.posterior.mean, notes, mask, frozen,
                                  config.codec.read_method, config.eval.optimised_read_steps,
                                  config.eval.optimised_read_learning_rate)
  else:
    iters = config.eval.num_iters if read == "attractor" else 1
    result = reads.encoder_read(codec, params, written.posterior.mean, notes, mask, frozen,
                                config.codec.read_method, iters)
  return np.asarray(result.predictions[-1]) + episodes.PITCH_LOW
