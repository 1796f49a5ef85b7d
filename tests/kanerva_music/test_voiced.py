"""kanerva_music.memory.voiced (per-voice observation noise) against float64 NumPy oracles, and
the uniform case as today's model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.memory import dkm
from kanerva_music.memory import model
from kanerva_music.memory import voiced
from tests.conftest import tiny_config

K, S = 6, 5
C = 4 * S
PRIOR_STD = 1.3
NOISE = np.array([0.05, 0.3, 0.2, 0.4])  # S A T B


def sigma_of_columns(noise=NOISE):
  return np.tile(noise, S)  # time-major: column c is voice c % 4


def oracle_ridge(mean, x, mask, noise=NOISE):
  """argmin_w sum_c m_c (x_c - R_c^T w)^2 / sigma_c^2 + ||w||^2 / sigma_p^2 (float64)."""
  d = mask / sigma_of_columns(noise) ** 2
  gram = (mean * d) @ mean.T + np.eye(len(mean)) / PRIOR_STD**2
  return np.linalg.solve(gram, (mean * d) @ x)


def oracle_lstsq(mean, x, mask, noise=NOISE):
  """The minimum-norm least-squares solution of the weighted system on the observed entries."""
  weight = np.sqrt(mask) / sigma_of_columns(noise)
  return np.linalg.pinv(weight[:, None] * mean.T) @ (weight * x)


def memory_of_rank(rng, rank):
  return rng.normal(size=(K, rank)) @ rng.normal(size=(rank, C))


@pytest.mark.parametrize("rank", [K, 3])  # 3 < K: a rank-deficient memory
@pytest.mark.parametrize("num_observed", [C, 9, 4])
@pytest.mark.parametrize("method", ["cholesky", "svd", "lstsq"])
def test_weighted_address_equals_the_float64_oracle(method, num_observed, rank):
  rng = np.random.default_rng(num_observed + 10 * rank)
  mean = memory_of_rank(rng, rank)
  x = rng.normal(size=(3, C))
  mask = np.zeros((3, C))
  for b in range(3):
    mask[b, rng.permutation(C)[:num_observed]] = 1
  noise = np.exp(rng.normal(size=4)) * 0.1  # random weights
  oracle = oracle_lstsq if method == "lstsq" else oracle_ridge
  expected = np.stack([oracle(mean, x[b], mask[b], noise) for b in range(3)])
  reference = 0.1
  scales = reference / sigma_of_columns(noise)
  with jax.enable_x64(True):
    got = jax.jit(lambda *a: voiced.solve_address(
        *a, scales=scales, obs_noise_std=reference, prior_std=PRIOR_STD, method=method,
        lstsq_solver="svd"))(mean, np.where(mask != 0, x, np.nan), mask)
    if method == "lstsq":  # the read-out is what is unique when the system is rank deficient
      np.testing.assert_allclose(np.asarray(got) @ mean, expected @ mean, rtol=1e-7, atol=1e-8)
    else:
      np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-8, atol=1e-10)


def oracle_voiced_write(mean, cov, z, w, noise=NOISE):
  """Column by column: U'_c = (U^-1 + W^T W / sigma_c^2)^-1, R'_c = U'_c (U^-1 R_c + W^T z_c /
  sigma_c^2); KL = sum_c KL(N(R'_c, U'_c) || N(R_c, U)) (float64)."""
  u_inv = np.linalg.inv(cov)
  new_mean, covs, kl = np.zeros_like(mean), {}, 0.0
  for c, sigma in enumerate(sigma_of_columns(noise)):
    post = np.linalg.inv(u_inv + w.T @ w / sigma**2)
    new_mean[:, c] = post @ (u_inv @ mean[:, c] + w.T @ z[:, c] / sigma**2)
    covs[c % 4] = post
    diff = new_mean[:, c] - mean[:, c]
    kl += 0.5 * (np.trace(u_inv @ post) + diff @ u_inv @ diff - K
                 + np.linalg.slogdet(cov)[1] - np.linalg.slogdet(post)[1])
  return new_mean, np.stack([covs[v] for v in range(4)]), kl


@pytest.mark.parametrize("num_episodes", [3, 8])  # T < K: the Kalman form; T >= K: information
def test_the_write_and_its_kl_equal_the_per_column_float64_oracle(num_episodes):
  rng = np.random.default_rng(0)
  mean = rng.normal(size=(K, C))
  a = rng.normal(size=(K, K))
  cov = a @ a.T / K + 0.5 * np.eye(K)
  z, w = rng.normal(size=(num_episodes, C)), rng.normal(size=(num_episodes, K))
  expected_mean, expected_covs, expected_kl = oracle_voiced_write(mean, cov, z, w)
  with jax.enable_x64(True):
    posterior, kl = jax.jit(lambda m, z, w: voiced.write_with_kl(m, z, w, voice_noise=NOISE))(
        dkm.Memory(mean, cov), z, w)
    np.testing.assert_allclose(np.asarray(posterior.mean), expected_mean, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(np.asarray(posterior.cov), expected_covs, rtol=1e-8, atol=1e-10)
    assert float(kl) == pytest.approx(expected_kl, rel=1e-8)
    # The likelihood term: the sum over columns of E ln N(x_c; M_c^T w, sigma_c^2).
    w_mean, w_std = rng.normal(size=(3, K)), 0.2
    x = rng.normal(size=(3, C))
    got = jax.jit(lambda *a: voiced.expected_log_likelihood(*a, w_std, voice_noise=NOISE))(
        x, posterior, w_mean)
    sigma = sigma_of_columns()
    oracle = np.zeros(3)
    for b in range(3):
      for c in range(C):
        u = expected_covs[c % 4]  # E (x_c - M_c^T w)^2 with w ~ N(mu, s^2 I), M_c ~ N(R_c, U_v)
        sq = ((x[b, c] - expected_mean[:, c] @ w_mean[b]) ** 2
              + w_std**2 * np.sum(expected_mean[:, c] ** 2) + w_mean[b] @ u @ w_mean[b]
              + w_std**2 * np.trace(u))
        oracle[b] += -0.5 * np.log(2 * np.pi * sigma[c] ** 2) - sq / (2 * sigma[c] ** 2)
    np.testing.assert_allclose(np.asarray(got), oracle, rtol=1e-8)


def test_a_melody_weighted_float32_write_past_k_stays_accurate():
  """sigma_S = 0.0075 with T = 256 > K = 32: the Kalman form's Sz has condition ~1e8 there."""
  rng = np.random.default_rng(5)
  k, c, t = 32, 128, 256
  mean, z = 0.1 * rng.normal(size=(k, c)), rng.uniform(-1, 1, size=(t, c))
  w = rng.normal(size=(t, k))
  noise = np.array([0.0075, 0.03, 0.03, 0.03])
  write = jax.jit(lambda m, z, w: voiced.write_with_kl(dkm.Memory(m, jnp.eye(k, dtype=m.dtype)),
                                                       z, w, voice_noise=noise))
  with jax.enable_x64(True):
    expected, _ = write(mean, z, w)
  got, kl = write(mean.astype(np.float32), z.astype(np.float32), w.astype(np.float32))
  assert np.isfinite(float(kl))
  np.testing.assert_allclose(np.asarray(got.mean), np.asarray(expected.mean), rtol=0, atol=1e-3)


def test_equal_sigmas_are_the_uniform_memory():
  rng = np.random.default_rng(1)
  mean, z, w = rng.normal(size=(K, C)), rng.normal(size=(8, C)), rng.normal(size=(8, K))
  prior = dkm.Memory(mean, np.eye(K))
  with jax.enable_x64(True):
    posterior, kl = voiced.write_with_kl(prior, z, w, voice_noise=[0.3] * 4)
    uniform, uniform_kl = dkm.write_with_kl(prior, z, w, obs_noise_std=0.3)
    np.testing.assert_allclose(np.asarray(posterior.mean), np.asarray(uniform.mean), rtol=1e-10)
    for v in range(4):
      np.testing.assert_allclose(np.asarray(posterior.cov[v]), np.asarray(uniform.cov),
                                 rtol=1e-10, atol=1e-12)
    assert float(kl) == pytest.approx(float(uniform_kl), rel=1e-10)
  assert voiced.column_scales([0.3] * 4, 0.3, C) is None


def _objective(config, params, batch, rngs):
  return model.batch_objective(params, batch, rngs, config.model,
                               method=config.model.write_solve_method)[0]


def test_voice_noise_equal_to_sigma_xi_is_todays_model_bit_for_bit(tiny_chorale_npz):
  config = tiny_config(tiny_chorale_npz)
  num_cols = 4 * config.data.episode_steps
  params = model.init_params(jax.random.PRNGKey(0), config.model, num_cols)
  batch = jax.random.normal(jax.random.PRNGKey(1), (2, config.episodes_per_memory, num_cols))
  rngs = jax.random.split(jax.random.PRNGKey(2), 2)
  today = jax.jit(jax.value_and_grad(lambda p: _objective(config, p, batch, rngs)))(params)
  config.model.voice_noise = (config.model.obs_noise_std,) * 4
  same = jax.jit(jax.value_and_grad(lambda p: _objective(config, p, batch, rngs)))(params)
  for a, b in zip(jax.tree_util.tree_leaves(today), jax.tree_util.tree_leaves(same)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  config.model.voice_noise = (config.model.obs_noise_std / 4,) + (config.model.obs_noise_std,) * 3
  weighted = jax.jit(lambda p: _objective(config, p, batch, rngs))(params)
  assert np.isfinite(float(weighted)) and float(weighted) != float(today[0])


def test_a_melody_weighted_read_fits_the_soprano_of_its_cue_more_closely():
  rng = np.random.default_rng(3)
  mean = rng.normal(size=(K, C))
  x = rng.normal(size=C)  # no address reads it exactly: the weights decide where the error goes
  soprano = np.arange(C) % 4 == 0
  memory = dkm.Memory(jnp.asarray(mean, jnp.float32), jnp.eye(K))
  error = {}
  for name, noise in (("uniform", [0.1] * 4), ("melody", [0.01, 0.1, 0.1, 0.1])):
    scales = voiced.column_scales(noise, 0.1, C)
    read = (dkm.iterate_read(memory, x, None, num_iters=1, obs_noise_std=0.1, method="lstsq")
            if scales is None else
            voiced.iterate_read(memory, x, None, scales=scales, num_iters=1, obs_noise_std=0.1,
                                method="lstsq"))
    error[name] = float(np.mean((np.asarray(read[-1]) - x)[soprano] ** 2))
  assert error["melody"] < 0.5 * error["uniform"]


@pytest.mark.parametrize("noise,message", [((0.1, 0.1), "four positive"),
                                           ((0.1, 0.0, 0.1, 0.1), "four positive"),
                                           ((0.1, float("nan"), 0.1, 0.1), "four positive")])
def test_bad_voice_noise_is_refused_naming_the_field(noise, message, tiny_chorale_npz):
  config = tiny_config(tiny_chorale_npz)
  config.model.voice_noise = noise
  with pytest.raises(ValueError, match=f"model.voice_noise.*{message}"):
    model.check_model_config(config.model)
  config.model.voice_noise = (0.01, 0.03, 0.03, 0.03)
  config.model.sequential_write = True
  with pytest.raises(ValueError, match="sequential_write"):
    model.check_model_config(config.model)
