"""kanerva_music.memory.spd: the XLA-native SPD inverse against float64 NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.memory import spd


@jax.jit
def _inverse_and_logdet(matrix):
  """(A^{-1}, ln|A|) as the DKM uses them, in one program: solves with cholesky_inverse's
  L^{-1}."""
  lower_inv, logdet = spd.cholesky_inverse(matrix)
  eye = jnp.broadcast_to(jnp.eye(matrix.shape[-1], dtype=matrix.dtype), matrix.shape)
  return spd.solve(lower_inv, eye), logdet


def _inverse(matrix):
  return _inverse_and_logdet(matrix)[0]


def random_spd(rng, batch, n):
  a = rng.normal(size=batch + (n, n + 2))
  return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(n)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 32])
def test_inverse_and_logdet_match_numpy(n):
  rng = np.random.default_rng(n)
  matrix = random_spd(rng, (2, 3), n)
  with jax.enable_x64(True):
    lower = np.linalg.cholesky(matrix)
    np.testing.assert_allclose(np.asarray(jax.jit(spd.lower_triangular_inverse)(lower)),
                               np.linalg.inv(lower), rtol=1e-9, atol=1e-10)
    inverse, logdet = _inverse_and_logdet(jnp.asarray(matrix))
    np.testing.assert_allclose(np.asarray(inverse), np.linalg.inv(matrix), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.asarray(logdet), np.linalg.slogdet(matrix)[1], rtol=1e-10)
  inverse32 = _inverse(jnp.asarray(matrix, jnp.float32))
  assert inverse32.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(inverse32), np.linalg.inv(matrix), rtol=1e-3, atol=1e-3)


def test_gradients_are_the_closed_form_derivatives():
  rng = np.random.default_rng(0)
  matrix = random_spd(rng, (), 6)
  weights = rng.normal(size=(6, 6))
  with jax.enable_x64(True):
    inv = np.linalg.inv(matrix)
    # d/dA sum(W * A^{-1}) = -A^{-T} W A^{-T}; d ln|A| / dA = A^{-T}; both symmetrised, as only
    # symmetric perturbations keep A positive definite.
    sym = lambda g: 0.5 * (g + g.T)
    grad_inverse = jax.grad(lambda a: jnp.sum(weights * _inverse(a)))(jnp.asarray(matrix))
    np.testing.assert_allclose(np.asarray(grad_inverse), sym(-inv.T @ weights @ inv.T),
                               rtol=1e-8, atol=1e-10)
    grad_logdet = jax.grad(lambda a: spd.cholesky_inverse(a)[1])(jnp.asarray(matrix))
    np.testing.assert_allclose(np.asarray(grad_logdet), sym(inv.T), rtol=1e-8, atol=1e-10)
    # Through a symmetric construction, as the DKM uses it: equal to the Cholesky solve's.
    factors = jnp.asarray(rng.normal(size=(6, 9)))
    rhs = jnp.asarray(rng.normal(size=(6, 4)))
    ours = lambda f: jnp.sum(jnp.sin(_inverse(f @ f.T + 0.1 * jnp.eye(6)) @ rhs))
    lapack = lambda f: jnp.sum(jnp.sin(jax.scipy.linalg.cho_solve(
        jax.scipy.linalg.cho_factor(f @ f.T + 0.1 * jnp.eye(6), lower=True), rhs)))
    np.testing.assert_allclose(np.asarray(jax.grad(ours)(factors)),
                               np.asarray(jax.grad(lapack)(factors)), rtol=1e-8, atol=1e-10)


def test_float32_write_of_a_near_singular_system_is_as_accurate_as_lapack():
  # 32 similar episodes (6 directions plus noise) at their ridge addresses, sigma = 0.03:
  # Sz = W W^T + sigma^2 I is near singular. Two products with L^{-1} keep the accuracy of
  # LAPACK's triangular solves; forming Sz^{-1} first doubled the posterior covariance's error.
  from kanerva_music.memory import dkm  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  k, c, t = 32, 128, 32
  z = rng.normal(size=(t, 6)) @ rng.normal(size=(6, c)) + 0.05 * rng.normal(size=(t, c))
  mean = 0.1 * rng.normal(size=(k, c))
  with jax.enable_x64(True):
    w = np.asarray(dkm.solve_address(mean, z, obs_noise_std=0.03, method="cholesky"))
    exact, exact_kl = dkm.write_with_kl(dkm.Memory(mean, np.eye(k)), z, w, obs_noise_std=0.03,
                                        linalg="lapack")
    exact_cov = np.asarray(exact.cov)
  errors = {}
  for linalg in dkm.LINALGS:
    posterior, kl = dkm.write_with_kl(
        dkm.Memory(mean.astype(np.float32), np.eye(k, dtype=np.float32)), z.astype(np.float32),
        w.astype(np.float32), obs_noise_std=0.03, linalg=linalg)
    errors[linalg] = (np.max(np.abs(np.asarray(posterior.cov) - exact_cov)),
                      abs(float(kl) - float(exact_kl)) / float(exact_kl))
  assert errors["xla"][0] <= 1.2 * errors["lapack"][0], errors
  assert errors["xla"][1] <= 1.2 * errors["lapack"][1] + 1e-6, errors
