"""The evaluation's metrics on the noised or masked entries (paper sections 4.3-4.4): mean
squared error in normalised units, and pitch accuracy after de-normalising and rounding (exact,
within 1 semitone, within 2 semitones = a whole step), per iteration."""

import jax.numpy as jnp

from kanerva_music.data import episodes

METRICS = ("mse", "acc_exact", "acc_1", "acc_2")


def iteration_sums(target, iterates, scored):
  """({metric: [num_iters + 1] sums over entries where `scored`}, their count);
  iterates [I, M, T, C] incl. the cue."""
  weight = jnp.broadcast_to(scored, target.shape).astype(jnp.float32)

  def total(values):  # values [I, M, T, C]
    return jnp.sum(values * weight, axis=(1, 2, 3))

  semitones = jnp.abs(to_pitch(iterates) - to_pitch(target))
  return {"mse": total((iterates - target) ** 2), "acc_exact": total(semitones == 0),
          "acc_1": total(semitones <= 1), "acc_2": total(semitones <= 2)}, jnp.sum(weight)


def iteration_metrics(target, iterates, scored):
  """{metric: [num_iters + 1]} means over entries where `scored`."""
  sums, count = iteration_sums(target, iterates, scored)
  return {name: value / count for name, value in sums.items()}


def to_pitch(x):
  return jnp.clip(jnp.round(episodes.denormalise(x)), episodes.PITCH_LOW, episodes.PITCH_HIGH)
