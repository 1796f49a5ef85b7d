"""The DKM write in information form, for memories of more episodes than rows (T > K).

The Kalman form (`dkm.write_with_kl`) solves the T x T system Sz = W U W^T + sigma_xi^2 I. Past K
episodes W U W^T has rank K, so Sz's eigenvalues run from ||W||^2 down to sigma_xi^2: in float32
at sigma_xi = 0.03 and T = 512 its KL came out 2.5x too large and the posterior mean 0.023 off
(half a semitone in normalised units) against a float64 oracle, and at sigma = 0.0075 (a
melody-weighted voice, `voiced.py`) the mean was 0.54 off. The same posterior (Rangasayee & Fan's
write; docs/dkm.md, "Write") from the K x K precision is accurate to 1e-7 there:

  U' = (U^{-1} + W^T W / sigma^2)^{-1},   R' = U' (U^{-1} R + W^T Z / sigma^2),
  KL(MN(R', U', I) || MN(R, U, I)) = 1/2 [C tr(U^{-1} U') + tr((R' - R)^T U^{-1} (R' - R)) - C K
                                          + C ln|U| + C ln|U^{-1} + W^T W / sigma^2|].
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from kanerva_music.memory import dkm
from kanerva_music.memory import spd


def write_with_kl(memory: dkm.Memory, z: ArrayLike, w: ArrayLike, *, obs_noise_std: ArrayLike,
                  linalg: str = "xla") -> tuple[dkm.Memory, jax.Array]:
  """(posterior, KL(posterior || memory)) of writing episodes z [T, C] at addresses w [T, K],
  equal to `dkm.write_with_kl` and accurate in float32 when T > K.

  Args:
    memory: the prior MN(R [K, C], U [K, K], I).
    z: episodes, [T, C]. w: their addresses, [T, K].
    obs_noise_std: sigma_xi (a scalar; an array under `vmap`).
    linalg: how the K x K systems are solved (`dkm.LINALGS`).

  Returns:
    The posterior MN(R', U') and the KL, a scalar.
  """
  mean = jnp.asarray(memory.mean)
  z, w = jnp.asarray(z, mean.dtype), jnp.asarray(w, mean.dtype)
  num_rows, num_cols = mean.shape
  eye = jnp.eye(num_rows, dtype=mean.dtype)
  prior = spd.system(jnp.asarray(memory.cov, mean.dtype), linalg)
  u_inv = prior.solve(eye)
  u_inv = 0.5 * (u_inv + u_inv.T)
  var = jnp.asarray(obs_noise_std, mean.dtype) ** 2
  precision = spd.system(u_inv + w.T @ w / var, linalg)
  new_mean = precision.solve(u_inv @ mean + w.T @ z / var)
  new_cov = precision.solve(eye)
  new_cov = 0.5 * (new_cov + new_cov.T)
  delta = new_mean - mean
  kl = 0.5 * (num_cols * jnp.sum(u_inv * new_cov) + jnp.sum(delta * (u_inv @ delta))
              - num_cols * num_rows + num_cols * (prior.logdet + precision.logdet))
  return dkm.Memory(new_mean, new_cov), kl


def accurate_write_with_kl(memory: dkm.Memory, z: ArrayLike, w: ArrayLike, *,
                           obs_noise_std: ArrayLike,
                           linalg: str = "xla") -> tuple[dkm.Memory, jax.Array]:
  """`dkm.write_with_kl` (the Kalman form: training's program) while T <= K, `write_with_kl`
  past K, where the Kalman form loses float32 accuracy."""
  write = write_with_kl if jnp.shape(w)[0] > jnp.shape(w)[1] else dkm.write_with_kl
  return write(memory, z, w, obs_noise_std=obs_noise_std, linalg=linalg)
