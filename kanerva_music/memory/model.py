"""The trainable DKM prior and its objective (paper eqs. 2-3, docs/dkm.md, "Objective").

Parameters: the prior mean R0 [K, C], the prior row covariance U0 and the address posterior std
sigma_w = softplus(raw). No encoder: z = x. U0 (`model.prior_cov`) is
* "full":   U0 = L0 L0^T, L0 lower-triangular with a softplus diagonal (learned);
* "scalar": U0 = exp(s) I with s learned (DeepMind's DKM);
* "fixed":  U0 = init_cov_scale * I, not learned.
How episodes are written and read back inside the objective (`write_addresses`,
`sequential_write`, `read_address`) follows the config; `store` is the one write that training,
evaluation and the completion tool share.
"""

import math
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.memory import dkm
from kanerva_music.memory import information_form
from kanerva_music.memory import voiced
from music_runtime.training import sharding

PRIOR_COVS = ("full", "scalar", "fixed")
_EVALUATION_WRITE_SEED = 1802
WRITE_ADDRESSES = ("mean", "sample")
READ_ADDRESSES = ("prior", "posterior")
INIT_MEANS = ("random", "pca")


def _softplus_inverse(y):
  return float(np.log(np.expm1(y)))


def check_model_config(model_config: ConfigDict) -> None:
  """Raises ValueError naming the field when an option is not one of its choices."""
  for field, choices in (("prior_cov", PRIOR_COVS), ("write_addresses", WRITE_ADDRESSES),
                         ("read_address", READ_ADDRESSES), ("init_mean", INIT_MEANS),
                         ("write_solve_method", dkm.RIDGE_METHODS),
                         ("read_method", dkm.READ_METHODS), ("linalg", dkm.LINALGS),
                         ("lstsq_solver", dkm.LSTSQ_SOLVERS)):
    if field in model_config and model_config[field] not in choices:
      raise ValueError(f"config.model.{field}={model_config[field]!r}; expected one of {choices}")
  noise = tuple(model_config.get("voice_noise", ()))
  if noise:
    if len(noise) != voiced.NUM_VOICES or not all(
        isinstance(s, (int, float)) and np.isfinite(s) and s > 0 for s in noise):
      raise ValueError(f"config.model.voice_noise={noise!r}; expected four positive sigmas "
                       "(S, A, T, B), or () for sigma_xi in every voice")
    if model_config.get("sequential_write") and voice_scales(model_config, 4) is not None:
      raise ValueError("config.model.voice_noise with model.sequential_write=True: the "
                       "sequential write keeps one row covariance; use one or the other")


def voice_scales(model_config: ConfigDict, num_cols: int,
                 voice_noise: Optional[ArrayLike] = None) -> Optional[ArrayLike]:
  """[C] s_c = sigma_xi / sigma_v(c) of `model.voice_noise` (`voiced.column_scales`); None when
  it is unset or every voice's sigma is sigma_xi: the uniform model, computed as it always was.
  An explicit `voice_noise` [4] (an array: the listener's settings in one program) overrides the
  config's and is always weighted."""
  if voice_noise is not None:
    return jnp.tile(model_config.obs_noise_std / jnp.asarray(voice_noise), num_cols // 4)
  noise = tuple(model_config.get("voice_noise", ()))
  if not noise:
    return None
  return voiced.column_scales(noise, model_config.obs_noise_std, num_cols)


def iterate_read(memory: dkm.Memory, x: ArrayLike, mask: Optional[ArrayLike],
                 model_config: ConfigDict, *, voice_noise: Optional[ArrayLike] = None,
                 **read_options: Any) -> jax.Array:
  """`dkm.iterate_read`, weighted by the per-voice noise (`voice_scales`) where there is one
  (`voiced.iterate_read`; the attention read's stored read-outs are scaled alike)."""
  scales = voice_scales(model_config, memory.mean.shape[-1], voice_noise)
  if scales is None:
    return dkm.iterate_read(memory, x, mask, **read_options)
  return voiced.iterate_read(memory, x, mask, scales=scales, **read_options)


def principal_rows(windows: np.ndarray, num_rows: int) -> np.ndarray:
  """[num_rows, C]: the training windows' mean direction, then their top principal components
  (of the centred windows), each of unit norm. As a prior mean this is a bias row plus PCA."""
  windows = np.asarray(windows, np.float64)
  mean = windows.mean(axis=0)
  _, _, vt = np.linalg.svd(windows - mean, full_matrices=False)
  rows = np.concatenate([mean[None] / np.linalg.norm(mean), vt[: num_rows - 1]])
  if len(rows) < num_rows:
    raise ValueError(f"model.init_mean='pca' needs at least {num_rows - 1} training windows and "
                     f"C >= K; got {len(windows)} windows of {windows.shape[1]} values")
  return rows


def init_params(rng: jax.Array, model_config: ConfigDict, num_cols: int,
                train_windows: Optional[np.ndarray] = None) -> dict[str, jax.Array]:
  """Initial parameters: R0 ~ N(0, init_mean_std^2) (`init_mean="random"`) or
  init_mean_std * sqrt(C) * `principal_rows` (`"pca"`, needs `train_windows` [N, C]; without
  them, as when building a restore target, zeros of the right shape); U0 = init_cov_scale I."""
  check_model_config(model_config)
  k = model_config.num_rows
  if model_config.init_mean == "pca":
    prior_mean = np.zeros((k, num_cols))
    if train_windows is not None:
      prior_mean = (model_config.init_mean_std * math.sqrt(num_cols)
                    * principal_rows(train_windows, k))
  else:
    prior_mean = model_config.init_mean_std * jax.random.normal(rng, (k, num_cols))
  params = {
      "prior_mean": prior_mean,
      "address_std_raw": jnp.full((), _softplus_inverse(model_config.init_address_std)),
  }
  if model_config.prior_cov == "full":
    params["prior_chol_offdiag"] = jnp.zeros((k, k))
    params["prior_chol_diag_raw"] = jnp.full(
        (k,), _softplus_inverse(math.sqrt(model_config.init_cov_scale)))
  elif model_config.prior_cov == "scalar":
    params["prior_log_var"] = jnp.full((), math.log(model_config.init_cov_scale))
  # Strong (not weak) float32 leaves: the optimizer's outputs then match and `jit` compiles once.
  return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)


def prior_memory(params: dict, model_config: ConfigDict) -> dkm.Memory:
  """p(M) = MN(R0, U0, I) (paper eq. 2), U0 positive definite by construction
  (`model.prior_cov`)."""
  mean = params["prior_mean"]
  k = mean.shape[0]
  if model_config.prior_cov == "full":
    chol = (jnp.tril(params["prior_chol_offdiag"], -1)
            + jnp.diag(jax.nn.softplus(params["prior_chol_diag_raw"])))
    cov = chol @ chol.T
  elif model_config.prior_cov == "scalar":
    cov = jnp.exp(params["prior_log_var"]) * jnp.eye(k, dtype=mean.dtype)
  else:
    cov = model_config.init_cov_scale * jnp.eye(k, dtype=mean.dtype)
  return dkm.Memory(mean=mean, cov=cov)


def address_std(params: dict) -> jax.Array:
  """sigma_w = softplus(raw), the address posterior's std (paper eq. 3's q(w))."""
  return jax.nn.softplus(params["address_std_raw"])


def solve_options(model_config: ConfigDict) -> dict:
  """`dkm.solve_address`'s options from a model config: sigma_xi, sigma_p, the lstsq cut-off
  and how the lstsq read is computed (configs that predate a field get its default)."""
  return dict(obs_noise_std=model_config.obs_noise_std, prior_std=model_config.prior_std,
              rcond=model_config.get("lstsq_rcond", 0.0) or None,
              lstsq_solver=model_config.get("lstsq_solver", "svd"))


def linalg(model_config: ConfigDict) -> str:
  """How Cholesky systems are solved (dkm.LINALGS); "xla" where a saved config predates it."""
  return model_config.get("linalg", "xla")


def _address(mean, episodes, model_config, method, voice_noise=None):
  options = dict(obs_noise_std=model_config.obs_noise_std, prior_std=model_config.prior_std,
                 method=method, linalg=linalg(model_config))
  scales = voice_scales(model_config, mean.shape[-1], voice_noise)
  if scales is None:
    return dkm.solve_address(mean, episodes, **options)
  return voiced.solve_address(mean, episodes, scales=scales, **options)


def _sequential_addresses(prior, episodes, model_config, method, noise):
  """Each episode's address solved against the memory written so far (DeepMind's DKM write):
  returns (mu [T, K], w [T, K]); w = mu + noise."""
  sigma = model_config.obs_noise_std

  def step(memory, inputs):
    z, eps = inputs
    mu = _address(memory.mean, z, model_config, method)
    w = mu + eps
    return dkm.write(memory, z[None], w[None], obs_noise_std=sigma,
                     linalg=linalg(model_config)), (mu, w)

  _, (mu, w) = jax.lax.scan(step, prior, (episodes, noise))
  return mu, w


class Written(NamedTuple):
  """One memory after `store`: its prior, posterior, KL(posterior || prior), the addresses'
  means mu [T, K] and the addresses w [T, K] actually written at (w = mu unless sampled)."""
  prior: dkm.Memory
  posterior: dkm.Memory
  kl_memory: jax.Array
  mu: jax.Array
  w: jax.Array


def store(params: dict, episodes: jax.Array, model_config: ConfigDict,
          rng: Optional[jax.Array], *, method: str,
          voice_noise: Optional[ArrayLike] = None) -> Written:
  """Writes episodes into one memory from the prior (paper eqs. 2, 6; docs/dkm.md, "Write").

  Addresses solve eq. 6 against the prior mean, or, with `sequential_write`, each against the
  memory written so far. With `write_addresses="sample"` the write uses w = mu + sigma_w eps;
  otherwise w = mu.

  Args:
    params: the model's parameters (`init_params`).
    episodes: [T, C] the episodes (z = x).
    model_config: config.model.
    rng: the address noise's key (used only with `write_addresses="sample"`).
    method: the addresses' solve method (dkm.SOLVE_METHODS).
    voice_noise: sigmas [4] (S A T B) in place of `model.voice_noise` (`voice_scales`).

  Returns:
    `Written`: prior and posterior memories, KL(posterior || prior), mu [T, K] and w [T, K].
  """
  prior = prior_memory(params, model_config)
  noise = jnp.zeros((episodes.shape[0], prior.mean.shape[0]), prior.mean.dtype)
  if model_config.write_addresses == "sample":
    if rng is None:
      raise ValueError('model.write_addresses="sample" needs the address noise\'s key (rng)')
    noise = address_std(params) * jax.random.normal(rng, noise.shape, noise.dtype)
  if model_config.sequential_write:
    if voice_noise is not None:
      raise ValueError("per-voice noise with model.sequential_write=True: the sequential write "
                       "keeps one row covariance")
    mu, w = _sequential_addresses(prior, episodes, model_config, method, noise)
  else:
    mu = _address(prior.mean, episodes, model_config, method, voice_noise)
    w = mu + noise
  if voice_scales(model_config, episodes.shape[-1], voice_noise) is None:
    posterior, kl_memory = information_form.accurate_write_with_kl(
        prior, episodes, w, obs_noise_std=model_config.obs_noise_std,
        linalg=linalg(model_config))
  else:  # the posterior's cov is then [4, K, K], one row covariance per voice
    posterior, kl_memory = voiced.write_with_kl(prior, episodes, w,
                                                voice_noise=(model_config.voice_noise
                                                             if voice_noise is None
                                                             else voice_noise),
                                                linalg=linalg(model_config))
  return Written(prior, posterior, kl_memory, mu, w)


# Run op by op, a split compiles its threefry program for every count (0.08-0.15 s each here,
# about 0.5 s under the report's background compilation); jitted at XLA's quick level, 0.08 s.
_split_program = sharding.quick_jit(jax.random.split, static_argnums=1)


def evaluation_write_keys(num_memories: int) -> jax.Array:
  """Fixed keys for evaluation writes: with `write_addresses="sample"` evaluation then writes as
  training does, identically in every run."""
  with jax.ensure_compile_time_eval():  # also under a trace: a constant of that program
    return _split_program()(jax.random.PRNGKey(_EVALUATION_WRITE_SEED), num_memories)


def memory_terms(params: dict, episodes: jax.Array, rng: Optional[jax.Array],
                 model_config: ConfigDict, *,
                 method: str) -> dict:
  """Writes T episodes into one memory; returns the summed terms of L_T (eq. 3).

  The likelihood term is taken under q(w_t) = N(mu_t, sigma_w^2 I) and the posterior q(M) after
  writing. mu_t is the write's address (`read_address="prior"`, paper 4.2: "retrieving episodes
  using the weight samples generated when storing") or solved against the posterior mean
  (`"posterior"`, DeepMind's DKM).

  Args:
    params, rng, model_config, method: as in `store`.
    episodes: [T, C].

  Returns:
    {"log_likelihood", "kl_address", "kl_memory"}: scalars, each summed over the T episodes.
  """
  _, posterior, kl_memory, mu, _ = store(params, episodes, model_config, rng, method=method)
  if model_config.read_address == "posterior":
    mu = _address(posterior.mean, episodes, model_config, method)
  sigma_w = address_std(params)
  if voice_scales(model_config, episodes.shape[-1]) is None:
    log_likelihood = dkm.expected_log_likelihood(episodes, posterior, mu, sigma_w,
                                                 obs_noise_std=model_config.obs_noise_std)
  else:
    log_likelihood = voiced.expected_log_likelihood(episodes, posterior, mu, sigma_w,
                                                    voice_noise=model_config.voice_noise)
  return {
      "log_likelihood": jnp.sum(log_likelihood),
      "kl_address": jnp.sum(dkm.kl_address(mu, sigma_w, model_config.prior_std)),
      "kl_memory": kl_memory,
  }


def batch_objective(params: dict, batch: jax.Array, rngs: jax.Array, model_config: ConfigDict, *,
                    method: str, map_memories: bool = False) -> tuple:
  """The training loss -L_T / (T C) (eq. 3) of a batch of memories, and what is logged.

  Args:
    params: the model's parameters.
    batch: [B, T, C], T episodes for each of B memories.
    rngs: [B] keys, one per memory (so a memory's address noise does not depend on how the batch
      is split over devices); used only when `write_addresses="sample"`. Evaluation passes fixed
      keys, so that it writes as training does.
    model_config: config.model. method: the write's solve method.
    map_memories: one memory at a time (`dkm.map_memories`, evaluation) instead of vmapped
      (training).

  Returns:
    (loss, (metrics, neg_cond_elbo_bits [B], kl_memory_per_dim [B])): the loss averaged over
    memories; `neg_cond_elbo_bits` is the paper's reported metric (4.2), -(L_T + KL(q(M)||p(M)))
    per time step per voice in bits.
  """
  num_memories, num_episodes, num_cols = batch.shape
  one = lambda x, r: memory_terms(params, x, r, model_config, method=method)
  terms = dkm.map_memories(one, batch, rngs) if map_memories else jax.vmap(one)(batch, rngs)
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
  return loss, (metrics, -cond_elbo / math.log(2.0), terms["kl_memory"] * per_dim)
