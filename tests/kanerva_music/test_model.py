"""kanerva_music.memory.model: the prior covariance options and the ways of writing and reading."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from kanerva_music.memory import dkm
from kanerva_music.memory import model

K, C, T = 5, 12, 4


def model_config(**overrides):
  config = ml_collections.ConfigDict(dict(
      num_rows=K, obs_noise_std=0.3, prior_std=1.0, write_solve_method="cholesky",
      read_method="lstsq", lstsq_rcond=0.0, init_mean_std=0.5, init_cov_scale=0.7,
      init_address_std=0.3, prior_cov="full", write_addresses="mean", sequential_write=False,
      read_address="prior", init_mean="random", attention_beta=0.0, attention_top_k=0,
      linalg="xla"))
  config.update(overrides)
  return config


def jitted_store(config, method):
  """model.store as the training step runs it, jitted: one compilation, not one per operation."""
  return jax.jit(lambda params, episodes, key: model.store(params, episodes, config, key,
                                                           method=method))


def ridge(mean, z, sigma):
  return np.linalg.solve(mean @ mean.T + sigma**2 * np.eye(len(mean)), mean @ z)


def kalman_rank_one(mean, cov, z, w, sigma):
  sc = cov @ w
  sz = w @ cov @ w + sigma**2
  return mean + np.outer(sc, z - w @ mean) / sz, cov - np.outer(sc, sc) / sz


@pytest.mark.parametrize("prior_cov", model.PRIOR_COVS)
def test_prior_covariance_options(prior_cov):
  config = model_config(prior_cov=prior_cov)
  params = model.init_params(jax.random.PRNGKey(0), config, C)
  prior = model.prior_memory(params, config)
  np.testing.assert_allclose(np.asarray(prior.cov), 0.7 * np.eye(K), rtol=1e-5)
  cov_params = {"full": {"prior_chol_offdiag", "prior_chol_diag_raw"},
                "scalar": {"prior_log_var"}, "fixed": set()}[prior_cov]
  assert set(params) == {"prior_mean", "address_std_raw"} | cov_params
  if prior_cov == "scalar":
    params = dict(params, prior_log_var=jnp.asarray(np.log(2.5), jnp.float32))
    np.testing.assert_allclose(np.asarray(model.prior_memory(params, config).cov),
                               2.5 * np.eye(K), rtol=1e-5)


def test_unknown_option_names_the_field():
  with pytest.raises(ValueError, match=r"config.model.prior_cov='diag'.*'scalar'"):
    model.init_params(jax.random.PRNGKey(0), model_config(prior_cov="diag"), C)
  with pytest.raises(ValueError, match=r"config.model.read_method='qrr'"):
    model.check_model_config(model_config(read_method="qrr"))


def test_sequential_write_solves_each_address_against_the_memory_so_far():
  config = model_config(sequential_write=True, prior_cov="fixed")
  params = model.init_params(jax.random.PRNGKey(1), config, C)
  rng = np.random.default_rng(0)
  episodes = rng.normal(size=(T, C))
  mean = np.asarray(params["prior_mean"], np.float64)
  cov = 0.7 * np.eye(K)
  expected_mu = []
  for z in episodes:
    mu = ridge(mean, z, 0.3)
    expected_mu.append(mu)
    mean, cov = kalman_rank_one(mean, cov, z, mu, 0.3)
  with jax.enable_x64(True):
    params64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    _, posterior, kl, mu, _ = jitted_store(config, "cholesky")(params64, episodes,
                                                               jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.asarray(mu), np.stack(expected_mu), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(posterior.mean), mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(posterior.cov), cov, rtol=1e-9, atol=1e-12)
    prior = model.prior_memory(params64, config)
    np.testing.assert_allclose(float(kl), float(dkm.kl_memory(posterior, prior)), rtol=1e-8)


def test_parallel_write_addresses_are_solved_against_the_prior():
  config = model_config()
  params = model.init_params(jax.random.PRNGKey(2), config, C)
  episodes = np.random.default_rng(1).normal(size=(T, C)).astype(np.float32)
  _, _, _, mu, _ = jitted_store(config, "svd")(params, episodes, jax.random.PRNGKey(0))
  mean = np.asarray(params["prior_mean"], np.float64)
  np.testing.assert_allclose(np.asarray(mu), ridge(mean, episodes.T, 0.3).T, rtol=1e-4,
                             atol=1e-5)


def test_sampled_writes_use_the_key_and_mean_writes_ignore_it():
  episodes = np.random.default_rng(2).normal(size=(T, C)).astype(np.float32)
  posteriors = {}
  for mode in model.WRITE_ADDRESSES:
    config = model_config(write_addresses=mode)
    params = model.init_params(jax.random.PRNGKey(3), config, C)
    store = jitted_store(config, "cholesky")
    posteriors[mode] = [np.asarray(store(params, episodes, jax.random.PRNGKey(s))[1].mean)
                        for s in (0, 1)]
  np.testing.assert_array_equal(*posteriors["mean"])
  assert not np.allclose(*posteriors["sample"])
  assert not np.allclose(posteriors["sample"][0], posteriors["mean"][0])


def test_posterior_read_address_reconstructs_from_the_written_memory():
  """read_address="posterior": the likelihood and address KL use mu solved against R'."""
  episodes = np.random.default_rng(3).normal(size=(T, C))
  with jax.enable_x64(True):
    config = model_config(read_address="posterior")
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64),
                                    model.init_params(jax.random.PRNGKey(4), config, C))
    terms = jax.jit(lambda p, e, k: model.memory_terms(p, e, k, config, method="cholesky"))(
        params, episodes, jax.random.PRNGKey(0))
    store = jitted_store(config, "cholesky")
    _, posterior, _, _, _ = store(params, episodes, None)
    mu = ridge(np.asarray(posterior.mean), episodes.T, 0.3).T
    sigma_w = float(model.address_std(params))
    expected = np.sum(np.asarray(dkm.expected_log_likelihood(
        episodes, posterior, mu, sigma_w, obs_noise_std=0.3)))
    np.testing.assert_allclose(float(terms["log_likelihood"]), expected, rtol=1e-9)
    np.testing.assert_allclose(float(terms["kl_address"]),
                               float(jnp.sum(dkm.kl_address(mu, sigma_w))), rtol=1e-9)
    # mu is the ridge address against R', so it beats the write's (prior) address there.
    _, _, _, mu_prior, _ = store(params, episodes, None)
    penalised = lambda w: (np.sum((episodes - w @ np.asarray(posterior.mean)) ** 2)
                           + 0.3**2 * np.sum(w**2))
    assert penalised(mu) < penalised(np.asarray(mu_prior))


@pytest.mark.parametrize("prior_cov", model.PRIOR_COVS)
def test_fixed_prior_gets_no_covariance_gradient_and_others_do(prior_cov):
  config = model_config(prior_cov=prior_cov, write_addresses="sample")
  params = model.init_params(jax.random.PRNGKey(5), config, C)
  batch = jnp.asarray(np.random.default_rng(4).normal(size=(2, T, C)), jnp.float32)
  grads = jax.jit(jax.grad(lambda p: model.batch_objective(
      p, batch, jax.random.split(jax.random.PRNGKey(0), 2), config, method="cholesky")[0]))(
          params)
  assert set(grads) == set(params)
  for name, g in grads.items():
    assert np.all(np.isfinite(np.asarray(g))), name
    assert np.any(np.asarray(g) != 0), name


def test_pca_prior_mean_is_a_bias_row_then_principal_components():
  rng = np.random.default_rng(6)
  windows = rng.normal(size=(200, C)) * np.linspace(3, 0.1, C) + 0.5
  config = model_config(init_mean="pca", init_mean_std=0.2)
  params = model.init_params(jax.random.PRNGKey(0), config, C, windows)
  rows = np.asarray(params["prior_mean"], np.float64) / (0.2 * np.sqrt(C))
  np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
  mean = windows.mean(0)
  np.testing.assert_allclose(rows[0], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
  _, _, vt = np.linalg.svd(windows - mean, full_matrices=False)
  np.testing.assert_allclose(np.abs(rows[1:] @ vt[: K - 1].T), np.eye(K - 1), atol=1e-5)
  restore_target = model.init_params(jax.random.PRNGKey(0), config, C)  # no windows: shapes
  assert restore_target["prior_mean"].shape == (K, C)


@pytest.mark.parametrize("overrides", [dict(prior_cov="full", write_addresses="sample"),
                                       dict(prior_cov="fixed", read_address="posterior"),
                                       dict(prior_cov="scalar", sequential_write=True)])
def test_xla_linear_algebra_gives_the_lapack_objective_and_gradients(overrides):
  rng = np.random.default_rng(3)
  with jax.enable_x64(True):
    batch = jnp.asarray(rng.normal(size=(2, T, C)))
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    results = {}
    for linalg in dkm.LINALGS:
      config = model_config(linalg=linalg, **overrides)
      params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), model.init_params(
          jax.random.PRNGKey(1), config, C))
      objective = lambda p: model.batch_objective(p, batch, rngs, config, method="cholesky")[0]
      results[linalg] = jax.jit(jax.value_and_grad(objective))(params)
    np.testing.assert_allclose(float(results["xla"][0]), float(results["lapack"][0]), rtol=1e-10)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(
        np.asarray(a), np.asarray(b), rtol=1e-7, atol=1e-10), results["xla"][1],
                           results["lapack"][1])


def test_evaluation_write_keys_are_jax_random_splits_eagerly_and_under_jit():
  traced = jax.jit(lambda x: jax.random.key_data(model.evaluation_write_keys(x.shape[0])))
  for count in (1, 7, 128):
    expected = np.asarray(jax.random.key_data(jax.random.split(
        jax.random.PRNGKey(model._EVALUATION_WRITE_SEED), count)))
    np.testing.assert_array_equal(
        np.asarray(jax.random.key_data(model.evaluation_write_keys(count))), expected)
    np.testing.assert_array_equal(np.asarray(traced(np.zeros(count))), expected)
