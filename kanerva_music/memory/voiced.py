"""A DKM memory whose voices have their own observation noise (docs/dkm.md, "Per-voice noise").

Rangasayee & Fan, sections 5-6: listeners remember the melody more than the harmony. Here entry c
of an episode (c = 4 s + v, voice v at step s) is observed with noise sigma_v(c), v in S A T B:

  x = M^T w + xi,   xi ~ N(0, diag(sigma_v(c)^2))           (eq. 1, one sigma per voice)

* The address (eq. 6) becomes a weighted least-squares solve,
  mu = argmin_w sum_c m_c (x_c - R_c^T w)^2 / sigma_v(c)^2 + ||w||^2 / sigma_p^2,
  which is eq. 6 itself on the scaled memory and cue (R_c, x_c) * s_c, s_c = sigma_ref / sigma_v(c),
  with sigma_xi = sigma_ref; the lstsq read is the minimum-norm solution of the weighted system,
  pinv(diag(m s) R^T) (m s x). With every sigma_v = sigma_ref, s = 1 and nothing changes.
* The write: column c's posterior is N(R'_c, U'_v(c)) with U'_v = (U^{-1} + W^T W / sigma_v^2)^{-1},
  so q(M) is a product over voices of MN(R'_v, U'_v, I): four writes (`dkm.write_with_kl`)
  sharing the addresses W, each on its voice's columns, and KL(q(M) || p(M)) their sum.
* The ELBO's likelihood term (eq. 3) is the sum over voices of `dkm.expected_log_likelihood` with
  each voice's sigma and posterior.
"""

from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
import numpy as np

from kanerva_music.memory import dkm
from kanerva_music.memory import information_form

NUM_VOICES = 4


def column_scales(voice_noise: Sequence[float], reference: float,
                  num_cols: int) -> Optional[np.ndarray]:
  """[C] s_c = reference / sigma_v(c) for the time-major columns (c = 4 s + v); None when every
  voice's sigma is `reference` (the uniform model, which then runs as it always has)."""
  noise = np.asarray(voice_noise, np.float64)
  if noise.shape != (NUM_VOICES,):
    raise ValueError(f"voice_noise needs {NUM_VOICES} sigmas (S A T B), got {tuple(voice_noise)}")
  if np.all(noise == reference):
    return None
  return np.tile(reference / noise, num_cols // NUM_VOICES).astype(np.float32)


def _by_voice(x: jax.Array) -> jax.Array:
  """[..., C] time-major -> [V, ..., S]: each voice's columns."""
  return jnp.moveaxis(x.reshape(x.shape[:-1] + (-1, NUM_VOICES)), -1, 0)


def _from_voices(x: jax.Array) -> jax.Array:
  """`_by_voice`'s inverse: [V, ..., S] -> [..., C]."""
  x = jnp.moveaxis(x, 0, -1)
  return x.reshape(x.shape[:-2] + (-1,))


def solve_address(mean: ArrayLike, x: ArrayLike, mask: Optional[ArrayLike] = None, *,
                  scales: ArrayLike, obs_noise_std: float, **solve_options: Any) -> jax.Array:
  """The weighted address mu [..., K] of cues x [..., C] (the module's eq. 6): `dkm.solve_address`
  on the scaled memory mean [K, C] and cues, with sigma_xi = `obs_noise_std` (the reference).

  Args:
    mean: the memory mean R, [K, C].
    x: cues, [..., C]; masked entries may hold anything, NaN included.
    mask: 1 where observed, as in `dkm.solve_address`.
    scales: s [C] (`column_scales`).
    obs_noise_std: sigma_ref, the sigma the scales are relative to.
    **solve_options: `dkm.solve_address`'s prior_std, method, rcond, linalg, lstsq_solver.

  Returns:
    The addresses, [..., K].
  """
  scales = jnp.asarray(scales)
  mean = jnp.asarray(mean)
  return dkm.solve_address(mean * scales, jnp.asarray(x, mean.dtype) * scales, mask,
                           obs_noise_std=obs_noise_std, **solve_options)


def iterate_read(memory: dkm.Memory, x: ArrayLike, mask: Optional[ArrayLike] = None, *,
                 scales: ArrayLike, **read_options: Any) -> jax.Array:
  """`dkm.iterate_read` of the weighted memory: each iterate x_n = R^T mu(x_{n-1}) with mu the
  weighted address; it reads the scaled memory and cue and unscales the iterates [I, ..., C]
  (R^T w scaled by s is the scaled memory's read-out, so the iteration is the same)."""
  scales = jnp.asarray(scales)
  mean = jnp.asarray(memory.mean)
  x = jnp.asarray(x, mean.dtype)
  if mask is not None:  # masked entries may hold NaN; scaling would keep it
    x = jnp.where(jnp.asarray(mask) != 0, x, jnp.zeros((), x.dtype))
  if read_options.get("values") is not None:  # the attention read's stored read-outs
    read_options["values"] = jnp.asarray(read_options["values"]) * scales
  iterates = dkm.iterate_read(dkm.Memory(mean * scales, memory.cov), x * scales, mask,
                              **read_options)
  return iterates / scales


def write_with_kl(memory: dkm.Memory, z: ArrayLike, w: ArrayLike, *, voice_noise: ArrayLike,
                  linalg: str = "xla") -> tuple[dkm.Memory, jax.Array]:
  """(posterior, KL(posterior || memory)) of writing episodes z [T, C] at addresses w [T, K]
  with each voice's sigma: one write per voice on its columns
  (`information_form.accurate_write_with_kl`).

  Args:
    memory: the prior MN(R [K, C], U [K, K], I).
    z: episodes, [T, C] (time-major). w: their addresses, [T, K].
    voice_noise: sigma_v, [4] (S A T B).
    linalg: as in `dkm.write`.

  Returns:
    (MN(R' [K, C], U' [4, K, K]) with U'[v] the row covariance of voice v's columns, the KL).
  """
  mean = jnp.asarray(memory.mean)
  z = jnp.asarray(z, mean.dtype)
  noise = jnp.asarray(voice_noise, mean.dtype)

  w = jnp.asarray(w, mean.dtype)

  def one(mean_v, z_v, sigma_v):
    return information_form.accurate_write_with_kl(dkm.Memory(mean_v, memory.cov), z_v, w,
                                                   obs_noise_std=sigma_v, linalg=linalg)

  posterior, kl = jax.vmap(one)(_by_voice(mean), _by_voice(z), noise)
  return dkm.Memory(_from_voices(posterior.mean), posterior.cov), jnp.sum(kl)


def expected_log_likelihood(x: ArrayLike, memory: dkm.Memory, w_mean: ArrayLike,
                            w_std: ArrayLike, *, voice_noise: ArrayLike) -> jax.Array:
  """E_{q(w) q(M)} ln N(x; M^T w, diag(sigma_v(c)^2)) [...] of episodes x [..., C] under a
  posterior written by `write_with_kl` (mean [K, C], cov [4, K, K]): the sum over voices of
  `dkm.expected_log_likelihood` (eq. 3's first term)."""
  mean = jnp.asarray(memory.mean)
  noise = jnp.asarray(voice_noise, mean.dtype)

  def one(x_v, mean_v, cov_v, sigma_v):
    return dkm.expected_log_likelihood(x_v, dkm.Memory(mean_v, cov_v), w_mean, w_std,
                                       obs_noise_std=sigma_v)

  per_voice = jax.vmap(one)(_by_voice(jnp.asarray(x, mean.dtype)), _by_voice(mean), memory.cov,
                            noise)
  return jnp.sum(per_voice, axis=0)
