"""The `lstsq` read's pseudo-inverse pinv(A) of a masked memory A = diag(m) R^T [C, K], two ways
(docs/dkm.md, "What reproducing it taught us"): by the SVD (the reference) and by the normal
equations where they are well conditioned (the same read, faster)."""

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from kanerva_music.memory import spd

SOLVERS = ("svd", "cholesky")
# `cholesky_pinv` takes its fast path while trace(A^T A) ||L^-1||_F^2, an upper bound on
# cond(A)^2, is at most this: there (cond(A) <= ~300) its Newton step leaves it as close to a
# float64 SVD oracle as the float32 SVD is (tests/kanerva_music/test_pinv.py); beyond, the SVD
# computes it.
CHOLESKY_MAX_BOUND = 1e6


def default_rcond(num_cols: int, num_rows: int, dtype: DTypeLike) -> float:
  """NumPy's lstsq cut-off: machine epsilon times the larger dimension."""
  return float(jnp.finfo(dtype).eps) * max(num_cols, num_rows)


def svd_pinv(a: jax.Array, rcond: float) -> jax.Array:
  """pinv(a) [K, C] of a [C, K]: singular values below rcond * s_max cut to zero.

  Args:
    a: [C, K], masked rows zero.
    rcond: the relative cut-off.

  Returns:
    [K, C], zero when a is.
  """
  u, s, vt = jnp.linalg.svd(a, full_matrices=False)
  kept = s > rcond * jnp.max(s)  # all False when nothing is observed: G = 0
  return (vt.T * jnp.where(kept, 1.0 / jnp.where(kept, s, 1.0), 0.0)) @ u.T


def squared_condition_bound(gram: jax.Array, lower_inv: jax.Array) -> jax.Array:
  """trace(A^T A) ||L^{-1}||_F^2 >= lambda_max / lambda_min = cond(A)^2, from the Gram A^T A
  [K, K] and its Cholesky factor's inverse L^{-1} (at most K^2 times too large)."""
  return jnp.trace(gram) * jnp.sum(lower_inv * lower_inv)


def _normal_equations_pinv(a, lower_inv):
  """G0 = (A^T A)^{-1} A^T from L^{-1}, then one Newton-Schulz step G = 2 G0 - G0 A G0."""
  g0 = spd.solve(lower_inv, a.T)
  return 2.0 * g0 - (g0 @ a) @ g0


def _normal_equations(a):
  """(L^{-1} of A^T A, whether the normal equations may be trusted: the bound on cond(A)^2 is
  finite and at most CHOLESKY_MAX_BOUND) of a [C, K]."""
  gram = a.T @ a
  lower_inv, _ = spd.cholesky_inverse(gram)
  bound = squared_condition_bound(gram, lower_inv)
  return lower_inv, jnp.isfinite(bound) & (bound <= CHOLESKY_MAX_BOUND)


def _fast_path(a):
  """(the normal equations' pinv [K, C], whether they may be trusted) of a [C, K]."""
  lower_inv, fast = _normal_equations(a)
  return _normal_equations_pinv(a, lower_inv), fast


def _one_cholesky_pinv(a, rcond):
  """One memory's read: the SVD only where the normal equations may not be trusted."""
  lower_inv, fast = _normal_equations(a)
  return jax.lax.cond(fast, lambda _: _normal_equations_pinv(a, lower_inv),
                      lambda _: svd_pinv(a, rcond), None)


@jax.custom_batching.custom_vmap
def _batched_cholesky_pinv(a, rcond):
  """pinv of a batch a [B, C, K] (rcond [B]) with one `lax.cond` for the whole batch: the
  normal equations for every element when all of them may be trusted, else the SVD where
  they may not (computed for the batch, selected per element)."""
  fast_pinv, fast = jax.vmap(_fast_path)(a)
  def mixed(_):
    return jnp.where(fast[:, None, None], fast_pinv, jax.vmap(svd_pinv)(a, rcond))
  return jax.lax.cond(jnp.all(fast), lambda _: fast_pinv, mixed, None)


@_batched_cholesky_pinv.def_vmap
def _batched_cholesky_pinv_rule(axis_size, in_batched, a, rcond):
  """A vmap of the batched read is one larger batch (so a nested vmap keeps one lax.cond)."""
  a_batched, rcond_batched = in_batched
  if not a_batched:
    a = jnp.broadcast_to(a, (axis_size,) + a.shape)
  if not rcond_batched:
    rcond = jnp.broadcast_to(rcond, (axis_size,) + rcond.shape)
  flat = _batched_cholesky_pinv(a.reshape((-1,) + a.shape[2:]), rcond.reshape(-1))
  return flat.reshape(a.shape[:2] + flat.shape[1:]), True


@jax.custom_vjp
@jax.custom_batching.custom_vmap
def _cholesky_pinv(a, rcond):
  return _one_cholesky_pinv(a, rcond)


# custom_vjp forwards def_vmap to the custom_vmap it wraps; its type stubs do not say so.
@_cholesky_pinv.def_vmap  # type: ignore[attr-defined]
def _cholesky_pinv_rule(axis_size, in_batched, a, rcond):
  a_batched, rcond_batched = in_batched
  if not a_batched:
    a = jnp.broadcast_to(a, (axis_size,) + a.shape)
  if not rcond_batched:
    rcond = jnp.broadcast_to(rcond, (axis_size,))
  return _batched_cholesky_pinv(a, rcond), True


def _cholesky_pinv_forward(a, rcond):
  return _cholesky_pinv(a, rcond), (a, rcond)


def _cholesky_pinv_backward(residuals, cotangent):
  # The derivative of the one-memory program (under vmap its lax.cond runs both branches:
  # only gradients pay for that).
  _, vjp = jax.vjp(_one_cholesky_pinv, *residuals)
  return vjp(cotangent)


_cholesky_pinv.defvjp(_cholesky_pinv_forward, _cholesky_pinv_backward)


def cholesky_pinv(a: jax.Array, rcond: float) -> jax.Array:
  """`svd_pinv(a, rcond)` by the normal equations where they are well conditioned.

  G0 = (A^T A)^{-1} A^T by one Cholesky factorisation, then one Newton-Schulz step
  G = 2 G0 - G0 A G0, which squares G0's relative error (the normal equations' error grows as
  cond(A)^2, the SVD's as cond(A)). Where the bound trace(A^T A) ||L^{-1}||_F^2 >= cond(A)^2
  exceeds CHOLESKY_MAX_BOUND (A rank-deficient or ill-conditioned: no cut-off can be decided
  from the Gram in float32) the SVD computes it, under a `lax.cond` so that only the branch
  taken runs. Under `jax.vmap` (at any depth) one `lax.cond` decides for the whole batch: the
  normal equations alone when every element may take them (no SVD runs), else the SVD too,
  selected per element (a `jax.custom_batching.custom_vmap` rule; gradients come from the
  one-memory program).

  Args:
    a: [C, K], masked rows zero.
    rcond: the SVD's relative cut-off (used where the SVD is taken).

  Returns:
    [K, C].
  """
  return _cholesky_pinv(a, jnp.asarray(rcond, a.dtype))
