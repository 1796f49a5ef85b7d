"""The trainable DKM prior and its objective (seed eqs. 2-3, design page "Objective").

Parameters: the prior mean R0 [K, C], the prior row covariance U0 = L0 L0^T (L0 lower-triangular,
softplus diagonal) and the address posterior std sigma_w = softplus(raw). No encoder: z = x.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music import dkm


def _softplus_inverse(y):
  return float(np.log(np.expm1(y)))


def init_params(rng, model_config, num_cols):
  """Initial parameters: R0 ~ N(0, init_mean_std^2), U0 = init_cov_scale * I."""
  k = model_config.num_rows
  diag = _softplus_inverse(math.sqrt(model_config.init_cov_scale))
  params = {
      "prior_mean": model_config.init_mean_std * jax.random.normal(rng, (k, num_cols)),
      "prior_chol_offdiag": jnp.zeros((k, k)),
      "prior_chol_diag_raw": jnp.full((k,), diag),
      "address_std_raw": jnp.full((), _softplus_inverse(model_config.init_address_std)),
  }
  # Strong (not weak) float32 leaves: the optimizer's outputs then match and `jit` compiles once.
  return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)


def prior_memory(params):
  """p(M) = MN(R0, U0, I) with U0 = L0 L0^T positive definite by construction."""
  chol = (jnp.tril(params["prior_chol_offdiag"], -1)
          + jnp.diag(jax.nn.softplus(params["prior_chol_diag_raw"])))
  return dkm.Memory(mean=params["prior_mean"], cov=chol @ chol.T)


def address_std(params):
  return jax.nn.softplus(params["address_std_raw"])


def memory_terms(params, episodes, rng, model_config, *, sample_addresses, method):
  """Writes T episodes [T, C] into one memory; returns the summed terms of L_T (eq. 3).

  Addresses mu_t solve eq. 6 against the prior mean; the write uses w_t = mu_t + sigma_w eps
  when `sample_addresses` (training) and mu_t otherwise. The likelihood term is taken under
  q(w_t) = N(mu_t, sigma_w^2 I) and the posterior q(M) after writing (seed 4.2).
  """
  prior = prior_memory(params)
  sigma_w = address_std(params)
  sigma_xi = model_config.obs_noise_std
  mu = dkm.solve_address(prior.mean, episodes, obs_noise_std=sigma_xi,
                         prior_std=model_config.prior_std, method=method)
  w = mu
  if sample_addresses:
    w = mu + sigma_w * jax.random.normal(rng, mu.shape, mu.dtype)
  posterior, kl_memory = dkm.write_with_kl(prior, episodes, w, obs_noise_std=sigma_xi)
  return {
      "log_likelihood": jnp.sum(dkm.expected_log_likelihood(
          episodes, posterior, mu, sigma_w, obs_noise_std=sigma_xi)),
      "kl_address": jnp.sum(dkm.kl_address(mu, sigma_w, model_config.prior_std)),
      "kl_memory": kl_memory,
  }


def batch_objective(params, batch, rngs, model_config, *, sample_addresses, method):
  """Returns (loss, (metrics, per-memory neg_cond_elbo_bits [B])) for a batch [B, T, C].

  rngs: [B] keys, one per memory (so a memory's address noise does not depend on how the batch
  is split over devices); None when addresses are not sampled.
  The loss is -L_T / (T C) averaged over memories.
  `neg_cond_elbo_bits` is the paper's reported metric (seed 4.2): -(L_T + KL(q(M)||p(M))) per
  time step per voice, in bits.
  """
  num_memories, num_episodes, num_cols = batch.shape
  if not model_config.learn_prior_cov:  # U0 stays at its initial value (an ablation)
    params = dict(params, prior_chol_offdiag=jax.lax.stop_gradient(params["prior_chol_offdiag"]),
                  prior_chol_diag_raw=jax.lax.stop_gradient(params["prior_chol_diag_raw"]))
  if rngs is None:
    rngs = jax.random.split(jax.random.PRNGKey(0), num_memories)  # unused: no sampling
  terms = jax.vmap(lambda x, r: memory_terms(
      params, x, r, model_config, sample_addresses=sample_addresses, method=method))(batch, rngs)
  per_dim = 1.0 / (num_episodes * num_cols)
  cond_elbo = (terms["log_likelihood"] - terms["kl_address"]) * per_dim
  elbo = cond_elbo - terms["kl_memory"] * per_dim
  loss = -jnp.mean(elbo)
  metrics = {
      "loss": loss,
      "neg_cond_elbo_bits": -jnp.mean(cond_elbo) / math.log(2.0),
      "kl_memory_per_dim": jnp.mean(terms["kl_memory"]) * per_dim,
      "address_std": address_std(params),
  }
  return loss, (metrics, -cond_elbo / math.log(2.0))
