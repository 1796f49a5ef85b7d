"""Dynamic Kanerva Machine memory as pure JAX functions.

Equation numbers refer to Rangasayee & Fan, "Music reconstruction using dynamic episodic memory";
the conventions are those of `docs/dkm.md`:

* memory M in R^{K x C}, q(M) = MN(R, U, I_C): column c is N(R[:, c], U);
* an episode x in R^C is read as x = M^T w + xi, xi ~ N(0, sigma_xi^2 I)            (eq. 1);
* the address of a cue is the masked MAP / ridge solution of eq. 6.

Every function works on one memory; `jax.vmap` maps it over many at full speed, the lstsq read's
fast path included (one `lax.cond` decides for the whole batch: `pinv.cholesky_pinv`), and
`map_memories` maps one memory at a time (what evaluation does, for the LAPACK reason given
there; both forms give the same reads). All functions are dtype-generic (float32 by default,
float64 under `jax_enable_x64`).
"""

import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax.scipy import linalg as jsl
from jax.typing import ArrayLike
import numpy as np

from kanerva_music.memory import pinv
from kanerva_music.memory import spd

# Ridge (MAP, eq. 6) solvers, then the two reads the paper compares (docs/dkm.md, "What
# reproducing it taught us"):
# `lstsq`, the minimum-norm least-squares read of TensorFlow's matrix_solve_ls(fast=False), and
# `dm_cholesky`, DeepMind's normal equations of the squared Gram matrix.
RIDGE_METHODS = ("svd", "qr", "cholesky")
SOLVE_METHODS = RIDGE_METHODS + ("lstsq", "dm_cholesky")
# Beyond the paper: a nonlinear read, softmax attention over the memory's read-outs.
READ_METHODS = SOLVE_METHODS + ("attention",)
# How the Cholesky-based systems (the write, the cholesky / dm_cholesky addresses) are solved
# (`spd.system`), and how the lstsq read's pseudo-inverse is computed (`pinv`).
LINALGS = spd.LINALGS
LSTSQ_SOLVERS = pinv.SOLVERS


def map_memories(fn: Callable[..., Any], *args: Any) -> Any:
  """fn over the leading (memory) axis of args, one memory at a time (`lax.map`).

  On XLA:CPU, jaxlib's batched LAPACK kernels split their batch into tasks on XLA's own thread
  pool and block until they finish; two such kernels running at once on a 2-thread pool wait for
  each other forever (seen in the report's SVD reads). Unbatched, a factorisation runs inline on
  its thread, so evaluation maps over memories instead of vmapping them.
  """
  return jax.lax.map(lambda a: fn(*a), args)


class Memory(NamedTuple):
  """Matrix-normal memory distribution MN(mean, cov, I_C)."""
  mean: jax.Array  # R [K, C]
  cov: jax.Array   # U [K, K], symmetric positive definite


def _observed(mask, shape, dtype):
  """Returns the {0, 1} observation mask broadcast to the trailing `C` of `shape`."""
  if mask is None:
    return jnp.ones(shape[-1:], dtype)
  return (jnp.asarray(mask) != 0).astype(dtype)


def _ridge_lambda(obs_noise_std, prior_std, dtype):
  """lam = sigma_xi^2 / sigma_p^2 of eq. 6."""
  return jnp.asarray(obs_noise_std, dtype) ** 2 / jnp.asarray(prior_std, dtype) ** 2


default_rcond = pinv.default_rcond


def _solve_operator(mean, observed, lam, method, rcond, linalg="xla", lstsq_solver="svd"):
  """The K x C matrix G with w = G (m * x), for one mask `observed` [C].

  With A = diag(m) mean^T [C, K] (masked rows zero, so shapes stay static under jit):
  * svd / qr / cholesky: the ridge (MAP) address of eq. 6, G = (A^T A + lam I)^{-1} A^T;
  * lstsq: the minimum-norm least-squares address, G = pinv(A), singular values below
    rcond * s_max cut to zero (lam is ignored, as in the paper's read), by `lstsq_solver`
    (LSTSQ_SOLVERS);
  * dm_cholesky: G = ((A^T A)^2 + lam I)^{-1} A^T A A^T, DeepMind's "original DKM" solve.
  One factorisation serves every query that shares the memory and mask.
  """
  num_rows = mean.shape[0]
  a = observed[:, None] * mean.T  # [C, K]
  eye = jnp.eye(num_rows, dtype=mean.dtype)
  if method == "lstsq":
    if lstsq_solver not in LSTSQ_SOLVERS:
      raise ValueError(f"Unknown lstsq solver {lstsq_solver!r}; expected one of {LSTSQ_SOLVERS}")
    return (pinv.cholesky_pinv if lstsq_solver == "cholesky" else pinv.svd_pinv)(a, rcond)
  if method == "svd":
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    # Exact ridge filter factors; s = 0 (rank-deficient A) contributes 0, never 0/0.
    return (vt.T * (s / (s * s + lam))) @ u.T
  if method == "qr":
    augmented = jnp.concatenate([a, jnp.sqrt(lam) * eye], axis=0)  # [C + K, K], full rank
    q, r = jnp.linalg.qr(augmented)
    return jsl.solve_triangular(r, q[: a.shape[0]].T, lower=False)
  if method == "cholesky":
    return spd.system(a.T @ a + lam * eye, linalg).solve(a.T)
  if method == "dm_cholesky":
    gram = a.T @ a
    return spd.system(gram @ gram + lam * eye, linalg).solve(gram @ a.T)
  raise ValueError(f"Unknown solve method {method!r}; expected one of {SOLVE_METHODS}.")


def address_operator(mean: ArrayLike, mask: Optional[ArrayLike] = None, *, obs_noise_std: float,
                     prior_std: float = 1.0, method: str = "svd", rcond: Optional[float] = None,
                     linalg: str = "xla", lstsq_solver: str = "svd") -> jax.Array:
  """Factorises once for a memory mean and mask; returns G [..., K, C] (paper eq. 6).

  `mask` is None (all observed), [C], or [B..., C] for several masks (one factorisation each).
  The address of a cue x is then `apply_address_operator(G, x, mask)`. `rcond` is the `lstsq`
  cut-off (None: `default_rcond`) and `lstsq_solver` how it is computed (LSTSQ_SOLVERS);
  `linalg` how the Cholesky methods solve (see LINALGS).
  """
  mean = jnp.asarray(mean)
  if method not in SOLVE_METHODS:
    raise ValueError(f"Unknown solve method {method!r}; expected one of {SOLVE_METHODS}.")
  lam = _ridge_lambda(obs_noise_std, prior_std, mean.dtype)
  if rcond is None:
    rcond = default_rcond(mean.shape[1], mean.shape[0], mean.dtype)
  observed = _observed(mask, mean.shape, mean.dtype)
  observed = jnp.broadcast_to(observed, observed.shape[:-1] + mean.shape[-1:])
  fn = lambda m: _solve_operator(mean, m, lam, method, rcond, linalg, lstsq_solver)
  if observed.ndim > 1 and method == "lstsq" and lstsq_solver == "cholesky":
    # lax.map, so that each mask takes the SVD only if it needs it (under vmap one badly
    # conditioned mask computes the SVD for every mask of the batch).
    flat = observed.reshape(-1, observed.shape[-1])
    return jax.lax.map(fn, flat).reshape(observed.shape[:-1] + mean.shape)
  for _ in range(observed.ndim - 1):
    fn = jax.vmap(fn)
  return fn(observed)


def apply_address_operator(operator: jax.Array, x: ArrayLike,
                           mask: Optional[ArrayLike] = None) -> jax.Array:
  """mu = G (m * x) for cues x [..., C]; masked entries of x may hold anything, NaN included."""
  x = jnp.asarray(x)
  if mask is not None:
    x = jnp.where(jnp.asarray(mask) != 0, x, jnp.zeros((), x.dtype))
  if operator.ndim == 2:  # one shared factorisation: a single matrix product for the whole batch
    return x @ operator.T
  return jnp.einsum("...kc,...c->...k", operator, x)


def masked_grams(mean: jax.Array, observed: jax.Array, max_table: int = 1 << 22) -> jax.Array:
  """mean diag(m) mean^T [..., K, K] for masks m [..., C]: one product of the masks with the
  K(K+1)/2 distinct row products [C, K(K+1)/2] (half the flops of the full Gram, and one large
  product instead of many small ones), unpacked by an index; while that table is small."""
  num_rows, num_cols = mean.shape
  rows, cols = np.tril_indices(num_rows)
  if len(rows) * num_cols > max_table:
    return jnp.einsum("kc,...c,jc->...kj", mean, observed, mean)
  unpack = np.zeros((num_rows, num_rows), np.int32)
  unpack[rows, cols] = unpack[cols, rows] = np.arange(len(rows))
  return (observed @ (mean[rows] * mean[cols]).T)[..., unpack]


def _per_cue_ridge_address(mean, x, mask, obs_noise_std, prior_std):
  """Ridge address (eq. 6) of cues x [..., C] with a mask each [..., C]: one factorisation per
  cue, solved against its right-hand side A^T x [K] instead of building the [K, C] operator
  (a third of the products at K = 32, C = 128)."""
  lam = _ridge_lambda(obs_noise_std, prior_std, mean.dtype)
  gram = masked_grams(mean, (mask != 0).astype(mean.dtype))
  gram = gram + lam * jnp.eye(mean.shape[0], dtype=mean.dtype)
  rhs = jnp.where(mask != 0, x, jnp.zeros((), x.dtype)) @ mean.T
  return spd.system(gram, "xla").solve(rhs[..., None])[..., 0]


def solve_address(mean: ArrayLike, x: ArrayLike, mask: Optional[ArrayLike] = None, *,
                  obs_noise_std: float, prior_std: float = 1.0, method: str = "svd",
                  rcond: Optional[float] = None, linalg: str = "xla",
                  lstsq_solver: str = "svd") -> jax.Array:
  """Masked address w [..., K] of cues x [..., C] against memory mean [K, C] (paper eq. 6).

  Ridge methods: mu = argmin_w ||m * (x - mean^T w)||^2 / sigma_xi^2 + ||w||^2 / sigma_p^2;
  `lstsq` and `dm_cholesky` as in `_solve_operator`.

  Args:
    mean: the memory mean R, [K, C].
    x: cues, [..., C]; masked entries may hold anything, NaN included.
    mask: 1 where observed, [..., C] broadcasting against x (None: all observed). Its leading
      dimensions decide how many factorisations are made: a mask shared by a batch of cues is
      factorised once.
    obs_noise_std: sigma_xi. prior_std: sigma_p of p(w).
    method: one of SOLVE_METHODS. rcond: the lstsq cut-off (None: NumPy's).
    linalg: "xla" (Cholesky systems in matrix products) or "lapack".
    lstsq_solver: how the lstsq read is computed, "svd" or "cholesky" (LSTSQ_SOLVERS).

  Returns:
    The addresses mu, [..., K].
  """
  mean = jnp.asarray(mean)
  x = jnp.asarray(x, mean.dtype)
  if mask is None and method == "cholesky" and linalg == "xla":
    # Nothing masked (the training write): solve against mean x^T [K, ...] instead of building
    # the K x C operator, a third of the products. (linalg="lapack" keeps the reference program.)
    lam = _ridge_lambda(obs_noise_std, prior_std, mean.dtype)
    gram = mean @ mean.T + lam * jnp.eye(mean.shape[0], dtype=mean.dtype)
    rhs = (x @ mean.T).reshape(-1, mean.shape[0])
    return spd.system(gram, linalg).solve(rhs.T).T.reshape(x.shape[:-1] + mean.shape[:1])
  if mask is not None:
    mask = jnp.asarray(mask)
    # Drop leading size-1 dimensions so that a mask shared by a batch is factorised only once.
    mask_dims = mask.shape
    while len(mask_dims) > 1 and mask_dims[0] == 1:
      mask_dims = mask_dims[1:]
    mask = mask.reshape(mask_dims)
    if method == "cholesky" and linalg == "xla" and mask.shape == x.shape and mask.ndim > 1:
      return _per_cue_ridge_address(mean, x, mask, obs_noise_std, prior_std)
  operator = address_operator(mean, mask, obs_noise_std=obs_noise_std, prior_std=prior_std,
                              method=method, rcond=rcond, linalg=linalg,
                              lstsq_solver=lstsq_solver)
  return apply_address_operator(operator, x, mask)


def _write_factors(memory, z, w, obs_noise_std, linalg):
  r, u = jnp.asarray(memory.mean), jnp.asarray(memory.cov)
  z = jnp.asarray(z, r.dtype)
  w = jnp.asarray(w, r.dtype)
  delta = z - w @ r
  sc = w @ u
  sz = sc @ w.T + obs_noise_std**2 * jnp.eye(w.shape[0], dtype=r.dtype)
  system = spd.system(sz, linalg)
  gain = system.solve(sc).T  # Sc^T Sz^{-1}, [K, T]
  new_cov = u - gain @ sc
  posterior = Memory(mean=r + gain @ delta, cov=0.5 * (new_cov + new_cov.T))
  return posterior, delta, system


def write(memory: Memory, z: ArrayLike, w: ArrayLike, *, obs_noise_std: float,
          linalg: str = "xla") -> Memory:
  """Bayesian update of q(M) after observing episodes z [T, C] at addresses w [T, K].

  Kalman form of the DKM write: Delta = Z - W R, Sc = W U, Sz = W U W^T + sigma_xi^2 I,
  R' = R + Sc^T Sz^{-1} Delta, U' = U - Sc^T Sz^{-1} Sc. Equals T sequential rank-one updates.

  Args:
    memory: the prior q(M) = MN(R [K, C], U [K, K]).
    z: episodes, [T, C]. w: their addresses, [T, K].
    obs_noise_std: sigma_xi. linalg: "xla" or "lapack" for the T x T system Sz.

  Returns:
    The posterior memory MN(R', U').
  """
  return _write_factors(memory, z, w, obs_noise_std, linalg)[0]


def write_with_kl(memory: Memory, z: ArrayLike, w: ArrayLike, *, obs_noise_std: ArrayLike,
                  linalg: str = "xla") -> tuple[Memory, jax.Array]:
  """(posterior, KL(posterior || memory)) of one write, the KL from Sz alone.

  With U' = (U^{-1} + W^T W / sigma^2)^{-1}: ln|U| - ln|U'| = ln|Sz| - T ln sigma^2,
  tr(U^{-1} U') = K - T + sigma^2 tr(Sz^{-1}) and the mean term is
  tr(Delta^T Sz^{-1} Delta) - sigma^2 ||Sz^{-1} Delta||^2. Equals `kl_memory(posterior, memory)`
  without factorising U or U', which is cheaper and stable in float32 when U' is near singular.
  """
  posterior, delta, system = _write_factors(memory, z, w, obs_noise_std, linalg)
  num_episodes, num_cols = delta.shape
  var = obs_noise_std**2
  sz_inv_delta = system.solve(delta)
  kl = 0.5 * (num_cols * (var * jnp.sum(system.inverse_diagonal()) - num_episodes
                          - num_episodes * jnp.log(var) + system.logdet)
              + jnp.sum(delta * sz_inv_delta) - var * jnp.sum(sz_inv_delta**2))
  return posterior, kl


def read(memory: Memory, w: ArrayLike) -> jax.Array:
  """Mean read-out z = R^T w [..., C] for addresses w [..., K] (eq. 1 without noise)."""
  mean = jnp.asarray(memory.mean)
  return jnp.asarray(w, mean.dtype) @ mean


def expected_log_likelihood(x: ArrayLike, memory: Memory, w_mean: ArrayLike, w_std: ArrayLike, *,
                            obs_noise_std: float) -> jax.Array:
  """E_{q(w) q(M)} ln N(x; M^T w, sigma_xi^2 I) in closed form, [...] (first term of eq. 3).

  E||x - M^T w||^2 = ||x - R^T mu||^2 + sum_k sigma_k^2 (||R_k||^2 + C U_kk) + C mu^T U mu,
  which for isotropic q(w) is docs/dkm.md's sigma_w^2 ||R||_F^2 + C (mu^T U mu + sigma_w^2 tr U).
  """
  r, u = jnp.asarray(memory.mean), jnp.asarray(memory.cov)
  num_cols = r.shape[-1]
  w_mean = jnp.asarray(w_mean, r.dtype)
  w_var = jnp.broadcast_to(jnp.asarray(w_std, r.dtype) ** 2, w_mean.shape)
  residual = jnp.sum((jnp.asarray(x, r.dtype) - w_mean @ r) ** 2, axis=-1)
  spread = w_var @ (jnp.sum(r * r, axis=-1) + num_cols * jnp.diagonal(u))
  quadratic = num_cols * jnp.einsum("...k,kl,...l->...", w_mean, u, w_mean)
  sq_error = residual + spread + quadratic
  var = obs_noise_std**2
  return -0.5 * num_cols * jnp.log(2 * jnp.pi * var) - sq_error / (2 * var)


def kl_address(w_mean: ArrayLike, w_std: ArrayLike, prior_std: float = 1.0) -> jax.Array:
  """KL(N(mu, diag(sigma^2)) || N(0, sigma_p^2 I)) summed over K, [...] (second term of eq. 3)."""
  w_mean = jnp.asarray(w_mean)
  ratio = jnp.broadcast_to(jnp.asarray(w_std, w_mean.dtype) ** 2, w_mean.shape) / prior_std**2
  return 0.5 * jnp.sum(ratio + w_mean**2 / prior_std**2 - 1.0 - jnp.log(ratio), axis=-1)


def kl_memory(posterior: Memory, prior: Memory) -> jax.Array:
  """KL(MN(R, U, I_C) || MN(R0, U0, I_C)), a scalar (third term of eq. 3).

  = 1/2 [C tr(U0^{-1} U) + tr((R - R0)^T U0^{-1} (R - R0)) - C K + C ln|U0| - C ln|U|].
  """
  num_rows, num_cols = prior.mean.shape
  prior_chol = jnp.linalg.cholesky(prior.cov)
  post_chol = jnp.linalg.cholesky(posterior.cov)
  # tr(U0^{-1} U) = ||L0^{-1} L||_F^2 with U = L L^T.
  whitened_cov = jsl.solve_triangular(prior_chol, post_chol, lower=True)
  whitened_diff = jsl.solve_triangular(prior_chol, posterior.mean - prior.mean, lower=True)
  return 0.5 * (num_cols * jnp.sum(whitened_cov**2) + jnp.sum(whitened_diff**2)
                - num_cols * num_rows
                + num_cols * (spd.cholesky_logdet(prior_chol) - spd.cholesky_logdet(post_chol)))


def attention_read(values: ArrayLike, x: ArrayLike, mask: Optional[ArrayLike] = None, *,
                   beta: float, top_k: int = 0) -> jax.Array:
  """Softmax attention over stored read-outs `values` [T, C] (a modern Hopfield update,
  Ramsauer et al. 2020, on the DKM's reconstructions): returns sum_t p_t v_t [..., C] with
  p = softmax(-beta / 2 * d_t), d_t the mean squared difference between x and v_t on the
  observed entries (so beta does not depend on how much is masked); the read-outs of a memory's
  stored episodes are `read(memory, w)` at the addresses w they were written at. `top_k` > 0 keeps
  only the k best scores (sparse addressing). A cue with nothing observed gets the mean read-out.
  """
  values = jnp.asarray(values)
  x = jnp.asarray(x, values.dtype)
  observed = _observed(mask, x.shape, values.dtype)
  x = jnp.where(observed != 0, x, jnp.zeros((), x.dtype))
  count = jnp.maximum(jnp.sum(observed, axis=-1, keepdims=True), 1.0)
  # ||m (x - v)||^2 = sum m x^2 - 2 (m x) . v + m . v^2, for every cue and value at once.
  sq = (jnp.sum(observed * x * x, -1, keepdims=True) - 2.0 * (observed * x) @ values.T
        + observed @ (values * values).T)
  scores = -0.5 * beta * sq / count
  if top_k and top_k < values.shape[0]:
    kth = jax.lax.top_k(scores, top_k)[0][..., -1:]
    scores = jnp.where(scores >= kth, scores, -jnp.inf)
  return jax.nn.softmax(scores, axis=-1) @ values


def iterate_read(memory: Memory, x: ArrayLike, mask: Optional[ArrayLike] = None, *,
                 num_iters: int, obs_noise_std: float, prior_std: float = 1.0,
                 method: str = "svd", clamp_observed: bool = True, rcond: Optional[float] = None,
                 values: Optional[ArrayLike] = None, beta: Optional[float] = None,
                 top_k: int = 0, lstsq_solver: str = "svd") -> jax.Array:
  """Iterative reads x_n = R^T mu(x_{n-1}; R), n = 1..num_iters (paper eqs. 4-5, 6).

  The first read solves with `mask` (None = all observed: denoising a noisy cue). Later reads
  re-read the current estimate with nothing masked. With `clamp_observed` and a mask, every
  iterate keeps the cue's observed entries (those are known); without a mask nothing is clamped,
  as the whole cue is noisy. Two factorisations in all, shared by every cue.

  Args:
    memory: the written memory (its mean R [K, C] is read).
    x: cues, [..., C]. mask: 1 where observed, broadcasting against x (None: all).
    num_iters: reads to take. obs_noise_std, prior_std, method, rcond, lstsq_solver: as in
      `solve_address`.
    clamp_observed: keep the cue's observed entries in every iterate.
    values, beta, top_k: method="attention" reads by `attention_read` over `values` (the stored
      read-outs W R', [T, C]) with inverse temperature `beta` and the `top_k` best (0: all).

  Returns:
    Every iterate, [num_iters, ..., C].
  """
  memory = Memory(jnp.asarray(memory.mean), jnp.asarray(memory.cov))
  mean = memory.mean
  x = jnp.asarray(x, mean.dtype)
  observed = None if mask is None else jnp.asarray(mask) != 0
  if method == "attention":
    if values is None or beta is None:
      raise ValueError("method='attention' needs values (the stored read-outs) and beta")
    first_read = lambda cue: attention_read(values, cue, mask, beta=beta, top_k=top_k)
    full_read = lambda z: attention_read(values, z, None, beta=beta, top_k=top_k)
  else:
    solve = functools.partial(solve_address, obs_noise_std=obs_noise_std, prior_std=prior_std,
                              method=method, rcond=rcond, lstsq_solver=lstsq_solver)
    full_operator = address_operator(mean, None, obs_noise_std=obs_noise_std,
                                     prior_std=prior_std, method=method, rcond=rcond,
                                     lstsq_solver=lstsq_solver)
    full_read = lambda z: read(memory, apply_address_operator(full_operator, z))
    if mask is None:
      first_read = full_read
    else:
      first_read = lambda cue: read(memory, solve(mean, cue, mask))

  def clamp(z):
    if observed is None or not clamp_observed:
      return z
    return jnp.where(observed, x, z)

  z = clamp(first_read(x))

  def step(z, _):
    z_next = clamp(full_read(z))
    return z_next, z_next

  _, rest = jax.lax.scan(step, z, None, length=num_iters - 1)
  return jnp.concatenate([z[None], rest], axis=0)
