"""kanerva_music.memory.dkm against float64 NumPy oracles written from the design page's
formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.memory import dkm

# The solves as the DKM's programs run them, jitted: one compilation per case, not one per
# operation.
_SOLVE_SETTINGS = ("obs_noise_std", "prior_std", "method", "rcond", "linalg", "lstsq_solver")
solve_address = jax.jit(dkm.solve_address, static_argnames=_SOLVE_SETTINGS)
address_operator = jax.jit(dkm.address_operator, static_argnames=_SOLVE_SETTINGS)

K, C = 6, 20
SIGMA_XI = 0.3
PRIOR_STD = 1.3


def random_memory(rng, k=K, c=C):
  mean = rng.normal(size=(k, c))
  a = rng.normal(size=(k, k))
  cov = a @ a.T / k + 0.5 * np.eye(k)
  return mean, cov


def oracle_address(mean, x, mask):
  """Ridge solution of eq. 6 (Rangasayee & Fan) by lstsq on the observed rows only (float64)."""
  obs = mask != 0
  a = mean.T[obs]
  lam = SIGMA_XI**2 / PRIOR_STD**2
  aug = np.concatenate([a, np.sqrt(lam) * np.eye(mean.shape[0])])
  rhs = np.concatenate([x[obs], np.zeros(mean.shape[0])])
  return np.linalg.lstsq(aug, rhs, rcond=None)[0]


@pytest.mark.parametrize("method,linalg", [(m, "xla") for m in dkm.RIDGE_METHODS]
                         + [("cholesky", "lapack")])
@pytest.mark.parametrize("num_observed", [C, 12, 3, 0])  # 3 < K: rank-deficient A; 0: all masked
def test_solve_address_matches_lstsq_oracle(method, linalg, num_observed):
  rng = np.random.default_rng(num_observed)
  mean, _ = random_memory(rng)
  x = rng.normal(size=(5, C))
  mask = np.zeros((5, C))
  for b in range(5):
    mask[b, rng.permutation(C)[:num_observed]] = 1
  x_cue = np.where(mask != 0, x, np.nan)  # masked entries are NaN, as in the paper
  expected = np.stack([oracle_address(mean, x[b], mask[b]) for b in range(5)])
  with jax.enable_x64(True):
    got = solve_address(mean, x_cue, mask, obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD,
                            method=method, linalg=linalg)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-8, atol=1e-10)
  got32 = solve_address(mean.astype(np.float32), x_cue.astype(np.float32), mask,
                            obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD, method=method,
                            linalg=linalg)
  assert got32.dtype == jnp.float32
  assert np.all(np.isfinite(np.asarray(got32)))
  np.testing.assert_allclose(np.asarray(got32), expected, rtol=1e-3, atol=1e-3)


def test_shared_mask_is_factorised_once_and_equals_per_query_masks():
  rng = np.random.default_rng(1)
  mean, _ = random_memory(rng)
  mean, x = mean.astype(np.float32), rng.normal(size=(7, C)).astype(np.float32)
  mask = (rng.random(C) < 0.5).astype(np.float32)
  operator = dkm.address_operator(mean, mask, obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD)
  assert operator.shape == (K, C)  # one factorisation for all seven cues
  shared = dkm.solve_address(mean, x, mask[None], obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD)
  per_query = dkm.solve_address(mean, x, np.tile(mask, (7, 1)), obs_noise_std=SIGMA_XI,
                                prior_std=PRIOR_STD)
  np.testing.assert_allclose(np.asarray(shared), np.asarray(per_query), rtol=1e-5, atol=1e-5)


def test_per_cue_masks_solve_each_cue_as_its_operator_does():
  """The fast path (a mask per cue: one vector solve each) against the straightforward one
  (each mask's K x C operator, then applied)."""
  rng = np.random.default_rng(2)
  mean, _ = random_memory(rng)
  x = rng.normal(size=(3, 4, C))
  mask = (rng.random((3, 4, C)) < 0.5).astype(np.float64)
  mask[0, 0] = 0  # nothing observed: the address is 0
  with jax.enable_x64(True):
    fast = solve_address(mean, np.where(mask != 0, x, np.nan), mask, obs_noise_std=SIGMA_XI,
                             prior_std=PRIOR_STD, method="cholesky")
    operators = address_operator(mean, mask, obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD,
                                     method="cholesky")
    assert operators.shape == (3, 4, K, C)
    straightforward = dkm.apply_address_operator(operators, x, mask)
    np.testing.assert_allclose(np.asarray(fast), np.asarray(straightforward), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_array_equal(np.asarray(fast[0, 0]), 0.0)


@pytest.mark.parametrize("max_table", [1 << 22, 0])  # packed row products, or the einsum
def test_masked_grams_equal_float64_products(max_table):
  rng = np.random.default_rng(3)
  mean = rng.normal(size=(K, C))
  masks = (rng.random((2, 3, C)) < 0.5).astype(np.float64)
  expected = np.einsum("kc,btc,jc->btkj", mean, masks, mean)
  with jax.enable_x64(True):
    got = np.asarray(dkm.masked_grams(mean, masks, max_table=max_table))
  np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
  np.testing.assert_array_equal(got, np.swapaxes(got, -1, -2))


def test_solve_address_rejects_unknown_method():
  with pytest.raises(ValueError, match="'bogus'.*lstsq"):
    dkm.solve_address(np.ones((K, C)), np.ones(C), obs_noise_std=0.2, method="bogus")


def oracle_min_norm_address(mean, x, mask, rcond):
  """The seed's read: minimum-norm least squares on the observed rows (float64 pinv)."""
  obs = mask != 0
  if not obs.any():
    return np.zeros(mean.shape[0])
  return np.linalg.pinv(mean.T[obs], rcond=rcond) @ x[obs]


def oracle_dm_cholesky_address(mean, x, mask):
  """DeepMind's solve: ((A^T A)^2 + lam I) w = A^T A A^T b, A the observed rows (float64)."""
  obs = mask != 0
  a = mean.T[obs]
  gram = a.T @ a
  lam = SIGMA_XI**2 / PRIOR_STD**2
  return np.linalg.solve(gram @ gram + lam * np.eye(mean.shape[0]), gram @ a.T @ x[obs])


def low_rank_memory(rng, rank):
  return rng.normal(size=(K, rank)) @ rng.normal(size=(rank, C))


@pytest.mark.parametrize("memory_rank", [K, 2])  # 2: a rank-deficient memory
@pytest.mark.parametrize("num_observed", [C, 12, K, 3, 0])
def test_lstsq_and_dm_cholesky_match_float64_oracles(memory_rank, num_observed):
  rng = np.random.default_rng(100 + num_observed + memory_rank)
  mean = low_rank_memory(rng, memory_rank)
  x = rng.normal(size=(4, C))
  mask = np.zeros((4, C))
  for b in range(4):
    mask[b, rng.permutation(C)[:num_observed]] = 1
  cue = np.where(mask != 0, x, np.nan)
  rcond = 1e-10
  with jax.enable_x64(True):
    got = solve_address(mean, cue, mask, obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD,
                            method="lstsq", rcond=rcond)
    expected = np.stack([oracle_min_norm_address(mean, x[b], mask[b], rcond) for b in range(4)])
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-7, atol=1e-9)
    got = solve_address(mean, cue, mask, obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD,
                            method="dm_cholesky")
    expected = np.stack([oracle_dm_cholesky_address(mean, x[b], mask[b]) for b in range(4)])
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6, atol=1e-8)
  for method in ("lstsq", "dm_cholesky"):  # float32, default cut-off: finite at every mask
    got32 = solve_address(mean.astype(np.float32), cue.astype(np.float32), mask,
                              obs_noise_std=SIGMA_XI, prior_std=PRIOR_STD, method=method)
    assert np.all(np.isfinite(np.asarray(got32))), method


def test_lstsq_read_is_a_projection_so_re_reading_changes_nothing():
  rng = np.random.default_rng(12)
  mean = rng.normal(size=(K, C))
  x = rng.normal(size=(3, C))
  with jax.enable_x64(True):
    iterates = dkm.iterate_read(dkm.Memory(mean, np.eye(K)), x, None, num_iters=4,
                                obs_noise_std=SIGMA_XI, method="lstsq")
    np.testing.assert_allclose(np.asarray(iterates[1:]), np.asarray(iterates[:-1]), atol=1e-10)
    # The read is the orthogonal projection onto the row space of the memory.
    projection = mean.T @ np.linalg.pinv(mean.T)
    np.testing.assert_allclose(np.asarray(iterates[0]), x @ projection.T, atol=1e-10)


def test_lstsq_recalls_a_stored_episode_exactly_from_half_of_it():
  """T <= K episodes written at independent addresses with little noise: the masked
  least-squares read of a half-masked stored episode gives back its other half."""
  rng = np.random.default_rng(13)
  episodes = rng.normal(size=(4, C))
  prior = dkm.Memory(mean=np.zeros((K, C)), cov=np.eye(K))
  with jax.enable_x64(True):
    addresses = rng.normal(size=(4, K))
    memory = dkm.write(prior, episodes, addresses, obs_noise_std=1e-4)
    mask = np.zeros(C)
    mask[: C // 2] = 1
    got = dkm.iterate_read(memory, np.where(mask != 0, episodes, np.nan), mask, num_iters=2,
                           obs_noise_std=1e-4, method="lstsq")
    np.testing.assert_allclose(np.asarray(got[-1]), episodes, atol=1e-5)


def test_solve_address_jits_and_vmaps_over_memories():
  rng = np.random.default_rng(2)
  means = rng.normal(size=(3, K, C)).astype(np.float32)
  x = rng.normal(size=(3, 4, C)).astype(np.float32)
  fn = jax.jit(jax.vmap(lambda m, q: dkm.solve_address(m, q, obs_noise_std=SIGMA_XI)))
  got = fn(means, x)
  for i in range(3):
    a = means[i].T.astype(np.float64)
    expected = np.linalg.solve(a.T @ a + SIGMA_XI**2 * np.eye(K), a.T @ x[i].T).T  # sigma_p = 1
    np.testing.assert_allclose(np.asarray(got[i]), expected, rtol=1e-3, atol=1e-4)


def sequential_write(mean, cov, z, w):
  """T rank-one Kalman updates, one episode at a time (float64 oracle)."""
  for z_t, w_t in zip(z, w):
    sc = cov @ w_t
    sz = w_t @ cov @ w_t + SIGMA_XI**2
    mean = mean + np.outer(sc, z_t - w_t @ mean) / sz
    cov = cov - np.outer(sc, sc) / sz
  return mean, cov


def test_batched_write_equals_sequential_rank_one_updates():
  rng = np.random.default_rng(3)
  mean, cov = random_memory(rng)
  z = rng.normal(size=(9, C))
  w = rng.normal(size=(9, K))
  expected_mean, expected_cov = sequential_write(mean, cov, z, w)
  with jax.enable_x64(True):
    got = dkm.write(dkm.Memory(mean=mean, cov=cov), z, w, obs_noise_std=SIGMA_XI)
    np.testing.assert_allclose(np.asarray(got.mean), expected_mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(got.cov), expected_cov, rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(got.cov), np.asarray(got.cov).T)


def test_read_is_mean_readout():
  rng = np.random.default_rng(4)
  mean, cov = random_memory(rng)
  w = rng.normal(size=(3, K))
  with jax.enable_x64(True):
    got = dkm.read(dkm.Memory(mean=mean, cov=cov), w)
    np.testing.assert_allclose(np.asarray(got), w @ mean, rtol=1e-12)


def test_expected_log_likelihood_matches_monte_carlo():
  rng = np.random.default_rng(5)
  mean, cov = random_memory(rng)
  x = rng.normal(size=(2, C))
  w_mean = rng.normal(size=(2, K))
  w_std = 0.4
  n = 400_000
  chol = np.linalg.cholesky(cov)
  estimates = []
  for b in range(2):
    # M = R + L E with E [K, C] standard normal: columns N(R_c, U), independent.
    m_samples = mean + np.einsum("kl,nlc->nkc", chol, rng.normal(size=(n // 100, K, C)))
    w_samples = w_mean[b] + w_std * rng.normal(size=(n // 100, 100, K))
    recon = np.einsum("nsk,nkc->nsc", w_samples, m_samples)
    sq = np.sum((x[b] - recon) ** 2, axis=-1)
    estimates.append(-0.5 * C * np.log(2 * np.pi * SIGMA_XI**2) - sq.mean() / (2 * SIGMA_XI**2))
    stderr = sq.std() / np.sqrt(sq.size) / (2 * SIGMA_XI**2)
    with jax.enable_x64(True):
      got = dkm.expected_log_likelihood(x[b], dkm.Memory(mean=mean, cov=cov), w_mean[b], w_std,
                                        obs_noise_std=SIGMA_XI)
    # Samples within a row share M, so allow a generous multiple of the naive standard error.
    assert abs(float(got) - estimates[-1]) < 20 * stderr + 1e-6 * abs(estimates[-1])
  with jax.enable_x64(True):
    batched = dkm.expected_log_likelihood(x, dkm.Memory(mean=mean, cov=cov), w_mean, w_std,
                                          obs_noise_std=SIGMA_XI)
  assert batched.shape == (2,)


def test_expected_log_likelihood_closed_form_oracle():
  rng = np.random.default_rng(6)
  mean, cov = random_memory(rng)
  x = rng.normal(size=(4, C))
  mu = rng.normal(size=(4, K))
  sw = 0.7
  sq = (np.sum((x - mu @ mean) ** 2, -1) + sw**2 * np.sum(mean**2)
        + C * (np.einsum("bk,kl,bl->b", mu, cov, mu) + sw**2 * np.trace(cov)))
  expected = -0.5 * C * np.log(2 * np.pi * SIGMA_XI**2) - sq / (2 * SIGMA_XI**2)
  with jax.enable_x64(True):
    got = dkm.expected_log_likelihood(x, dkm.Memory(mean=mean, cov=cov), mu, sw,
                                      obs_noise_std=SIGMA_XI)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_kl_address_matches_per_dimension_gaussian_kl():
  rng = np.random.default_rng(7)
  mu = rng.normal(size=(3, K))
  sw = 0.6
  var, pvar = sw**2, PRIOR_STD**2
  expected = np.sum(0.5 * (np.log(pvar / var) + (var + mu**2) / pvar - 1.0), axis=-1)
  with jax.enable_x64(True):
    got = dkm.kl_address(mu, sw, PRIOR_STD)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def gaussian_kl(m1, s1, m0, s0):
  """KL(N(m1, s1) || N(m0, s0)) for full covariances (float64)."""
  k = len(m1)
  s0_inv = np.linalg.inv(s0)
  d = m0 - m1
  return 0.5 * (np.trace(s0_inv @ s1) + d @ s0_inv @ d - k
                + np.linalg.slogdet(s0)[1] - np.linalg.slogdet(s1)[1])


def test_kl_memory_is_sum_of_per_column_gaussian_kls():
  rng = np.random.default_rng(8)
  prior_mean, prior_cov = random_memory(rng)
  post_mean, post_cov = random_memory(rng)
  expected = sum(gaussian_kl(post_mean[:, c], post_cov, prior_mean[:, c], prior_cov)
                 for c in range(C))
  with jax.enable_x64(True):
    got = dkm.kl_memory(dkm.Memory(mean=post_mean, cov=post_cov),
                        dkm.Memory(mean=prior_mean, cov=prior_cov))
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)
    assert float(dkm.kl_memory(dkm.Memory(prior_mean, prior_cov),
                               dkm.Memory(prior_mean, prior_cov))) == pytest.approx(0, abs=1e-9)


def oracle_iterate(mean, x, mask, num_iters, clamp):
  lam = SIGMA_XI**2 / PRIOR_STD**2
  a = mean.T
  full = np.linalg.solve(a.T @ a + lam * np.eye(K), a.T)
  out, z = [], None
  for n in range(num_iters):
    w = oracle_address(mean, np.nan_to_num(x), mask) if n == 0 else full @ z
    z = w @ mean
    if clamp:
      z = np.where(mask != 0, x, z)
    out.append(z)
  return np.stack(out)


@pytest.mark.parametrize("clamp", [True, False])
def test_iterate_read_completion_matches_oracle(clamp):
  rng = np.random.default_rng(9)
  mean, cov = random_memory(rng)
  x = rng.normal(size=(3, C))
  mask = np.ones(C)
  mask[C // 2:] = 0
  cue = np.where(mask != 0, x, np.nan)
  expected = np.stack([oracle_iterate(mean, cue[b], mask, 4, clamp) for b in range(3)], axis=1)
  with jax.enable_x64(True):
    got = dkm.iterate_read(dkm.Memory(mean, cov), cue, mask, num_iters=4, obs_noise_std=SIGMA_XI,
                           prior_std=PRIOR_STD, clamp_observed=clamp)
    assert got.shape == (4, 3, C)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-8, atol=1e-10)


def test_iterate_read_denoises_a_stored_pattern():
  """With a memory that stores a few patterns, a noisy cue moves towards its pattern."""
  rng = np.random.default_rng(10)
  patterns = rng.choice([-1.0, 1.0], size=(3, C))
  prior = dkm.Memory(mean=np.zeros((K, C), np.float32), cov=np.eye(K, dtype=np.float32))
  w = rng.normal(size=(3, K))
  memory = dkm.write(prior, patterns, w, obs_noise_std=0.05)
  cue = patterns + 0.3 * rng.normal(size=patterns.shape)
  iterates = dkm.iterate_read(memory, cue, None, num_iters=3, obs_noise_std=0.05)
  err_cue = np.mean((cue - patterns) ** 2)
  err_out = np.mean((np.asarray(iterates[-1]) - patterns) ** 2)
  assert err_out < 0.2 * err_cue


@pytest.mark.parametrize("linalg", dkm.LINALGS)
def test_write_with_kl_equals_general_kl_memory(linalg):
  rng = np.random.default_rng(11)
  mean, cov = random_memory(rng)
  z = rng.normal(size=(9, C))
  w = rng.normal(size=(9, K))
  with jax.enable_x64(True):
    prior = dkm.Memory(mean=mean, cov=cov)
    posterior, kl = dkm.write_with_kl(prior, z, w, obs_noise_std=SIGMA_XI, linalg=linalg)
    expected = sum(gaussian_kl(np.asarray(posterior.mean)[:, c], np.asarray(posterior.cov),
                               mean[:, c], cov) for c in range(C))
    np.testing.assert_allclose(float(kl), expected, rtol=1e-9)
    np.testing.assert_allclose(float(dkm.kl_memory(posterior, prior)), expected, rtol=1e-9)


def oracle_attention(values, x, mask, beta, top_k=0):
  obs = mask != 0
  d = ((x[obs] - values[:, obs]) ** 2).sum(-1) / max(obs.sum(), 1)
  scores = -0.5 * beta * d
  if top_k:
    scores = np.where(scores >= np.sort(scores)[-top_k], scores, -np.inf)
  p = np.exp(scores - scores.max())
  return (p / p.sum()) @ values


@pytest.mark.parametrize("top_k", [0, 3])
@pytest.mark.parametrize("num_observed", [C, 7, 0])
def test_attention_read_matches_float64_oracle(num_observed, top_k):
  rng = np.random.default_rng(20 + num_observed)
  values = rng.normal(size=(9, C))
  x = rng.normal(size=(4, C))
  mask = np.zeros((4, C))
  for b in range(4):
    mask[b, rng.permutation(C)[:num_observed]] = 1
  cue = np.where(mask != 0, x, np.nan)
  expected = np.stack([oracle_attention(values, x[b], mask[b], 3.0, top_k) for b in range(4)])
  with jax.enable_x64(True):
    got = dkm.attention_read(values, cue, mask, beta=3.0, top_k=top_k)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-10, atol=1e-12)
  got32 = dkm.attention_read(values.astype(np.float32), cue.astype(np.float32), mask,
                             beta=1e4, top_k=top_k)  # a sharp softmax stays finite
  assert np.all(np.isfinite(np.asarray(got32)))


def test_attention_iterate_read_recalls_more_stored_episodes_than_rows():
  """T = 3K stored episodes: the linear read cannot separate them; the attention read over the
  memory's read-outs comes close to each episode's own read-out, the best a K-row memory holds."""
  rng = np.random.default_rng(21)
  k, c, t = 4, 40, 12
  episodes = rng.normal(size=(t, c))
  prior = dkm.Memory(mean=rng.normal(size=(k, c)), cov=np.eye(k))
  with jax.enable_x64(True):
    w = dkm.solve_address(prior.mean, episodes, obs_noise_std=0.1)
    memory = dkm.write(prior, episodes, w, obs_noise_std=0.1)
    values = dkm.read(memory, w)  # the memory's read-outs of its stored episodes
    mask = np.zeros(c)
    mask[: c // 2] = 1
    cue = np.where(mask != 0, episodes, np.nan)
    kwargs = dict(num_iters=3, obs_noise_std=0.1, values=values)
    attention = dkm.iterate_read(memory, cue, mask, method="attention", beta=1e3, **kwargs)
    linear = dkm.iterate_read(memory, cue, mask, method="lstsq", **kwargs)
    masked = mask == 0
    readout_error = np.mean((np.asarray(values) - episodes)[:, masked] ** 2)
    attention_error = np.mean((np.asarray(attention[-1]) - episodes)[:, masked] ** 2)
    linear_error = np.mean((np.asarray(linear[-1]) - episodes)[:, masked] ** 2)
    assert attention_error < 1.1 * readout_error
    assert linear_error > 1.15 * attention_error
    with pytest.raises(ValueError, match="attention"):
      dkm.iterate_read(memory, cue, mask, method="attention", num_iters=1, obs_noise_std=0.1)


@pytest.mark.parametrize("method", ["lstsq", "cholesky"])
def test_benchmark_numpy_baselines_compute_the_jitted_read(method):
  from kanerva_music.tools import benchmark  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(5)
  means = rng.normal(size=(3, K, C))
  cues = rng.normal(size=(3, 4, C))
  mask = (np.arange(C) < C // 2).astype(np.float64)
  rcond = dkm.default_rcond(C, K, np.float64)
  with jax.enable_x64(True):
    ours = benchmark.jitted_complete(method, SIGMA_XI, rcond)(
        means, cues, np.broadcast_to(mask, (3, C)))
    np.testing.assert_allclose(
        benchmark.numpy_complete(means, cues, mask, method, SIGMA_XI, rcond), np.asarray(ours),
        rtol=1e-9, atol=1e-10)
    per_episode = (rng.random((3, 4, C)) < 0.5).astype(np.float64)
    ours = benchmark.jitted_complete(method, SIGMA_XI, rcond)(means, cues, per_episode)
    np.testing.assert_allclose(
        benchmark.numpy_loop_complete(means, cues, per_episode, rcond, method, SIGMA_XI),
        np.asarray(ours), rtol=1e-8, atol=1e-9)
