"""The evaluation's metrics on the noised or masked entries (paper sections 4.3-4.4): mean
squared error in normalised units, and pitch accuracy after de-normalising and rounding (exact,
within 1 semitone, within 2 semitones = a whole step), per iteration."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

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


def categorical_sums(targets: jax.Array, predictions: jax.Array, logits: jax.Array,
                     scored: jax.Array) -> dict:
  """Sums over the scored entries of pitch-class reads: exact / within 1 / within 2 semitones
  per iteration [I] (predictions [I, ..., S, 4] or [..., S, 4]), the NLL of `targets` under the
  final read's logits [..., S, 4, 46], the count, and the final read's exact entries and count
  per voice [4] (S A T B)."""
  weight = jnp.broadcast_to(scored, targets.shape).astype(jnp.float32)
  distance = jnp.abs(predictions - targets)
  total = lambda v: jnp.sum(v * weight, axis=tuple(range(1, v.ndim)))
  per_voice = lambda v: jnp.sum(v.reshape(-1, v.shape[-1]), axis=0)
  final = distance[-1] if distance.ndim > targets.ndim else distance
  nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
  return {"acc_exact": total(distance == 0), "acc_1": total(distance <= 1),
          "acc_2": total(distance <= 2), "nll": jnp.sum(nll * weight), "count": jnp.sum(weight),
          "exact_by_voice": per_voice((final == 0) * weight), "count_by_voice": per_voice(weight)}


def categorical_means(sums: dict) -> dict:
  """`categorical_sums` (summed over batches) -> {acc_exact [I], acc_1 [I], acc_2 [I], nll}
  means per scored entry, and acc_exact_by_voice [4] (S A T B; None for a voice with no scored
  entry) of the final read."""
  count = float(sums["count"])
  out: dict = {k: [float(v) / count for v in np.atleast_1d(np.asarray(sums[k]))]
               for k in ("acc_exact", "acc_1", "acc_2")}
  out["nll"] = float(sums["nll"]) / count
  if "exact_by_voice" in sums:
    out["acc_exact_by_voice"] = [float(e) / float(c) if float(c) else None for e, c in
                                 zip(np.asarray(sums["exact_by_voice"]),
                                     np.asarray(sums["count_by_voice"]))]
  return out
