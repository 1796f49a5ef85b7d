"""Inverse and log-determinant of small symmetric positive definite matrices in XLA-native ops.

The DKM's K x K and T x T systems (paper eq. 6 and the write) are tiny. On XLA:CPU every LAPACK
triangular solve is a custom call that costs tens of microseconds for a 32 x 32 system, and the
gradient of a Cholesky solve adds several more; the training step was bound by them. Here only the
Cholesky factorisation calls LAPACK (`jnp.linalg.cholesky`); the triangular inverse is computed
by block doubling (log2 n levels of batched matrix products, every block of a level at once),
solves are two products with it, and the derivatives are closed-form matrix products.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy import linalg as jsl

# How an SPD system is solved: "xla" by this module (one LAPACK call, the rest matrix products;
# the fast path), "lapack" by cho_factor / cho_solve (triangular-solve custom calls: the
# straightforward program, kept as the reference).
LINALGS = ("xla", "lapack")


def _diagonal_blocks(matrix, size):
  """[..., n / size, size, size]: the diagonal blocks of an [..., n, n] matrix."""
  n = matrix.shape[-1]
  count = n // size
  blocks = matrix.reshape(matrix.shape[:-2] + (count, size, count, size))
  blocks = jnp.diagonal(blocks, axis1=-4, axis2=-2)  # [..., size, size, count]
  return jnp.moveaxis(blocks, -1, -3)


def _small_matmul(a, b):
  """a @ b; below 8 x 8 as a broadcast multiply and sum, which XLA fuses, instead of a dot."""
  if a.shape[-1] >= 8:
    return a @ b
  return jnp.sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def lower_triangular_inverse(lower: jax.Array) -> jax.Array:
  """L^{-1} of lower-triangular [..., n, n] L (any n; padded to a power of two with I).

  Level by level, each pair of inverted diagonal blocks X11, X22 of size b becomes the inverse of
  their parent [[L11, 0], [L21, L22]]: [[X11, 0], [-X22 L21 X11, X22]].
  """
  n = lower.shape[-1]
  padded_n = 1 << max(n - 1, 0).bit_length()
  if padded_n != n:
    pad = [(0, 0)] * (lower.ndim - 2) + [(0, padded_n - n)] * 2
    eye_tail = jnp.diag(jnp.concatenate([jnp.zeros(n), jnp.ones(padded_n - n)])).astype(
        lower.dtype)
    lower = jnp.pad(lower, pad) + eye_tail
  inverses = (1.0 / jnp.diagonal(lower, axis1=-2, axis2=-1))[..., None, None]  # [..., n, 1, 1]
  size = 1
  while size < padded_n:
    parents = _diagonal_blocks(lower, 2 * size)            # [..., n / 2b, 2b, 2b]
    x11, x22 = inverses[..., 0::2, :, :], inverses[..., 1::2, :, :]
    l21 = parents[..., size:, :size]
    x21 = -_small_matmul(_small_matmul(x22, l21), x11)
    zeros = jnp.zeros_like(x11)
    inverses = jnp.concatenate([jnp.concatenate([x11, zeros], axis=-1),
                                jnp.concatenate([x21, x22], axis=-1)], axis=-2)
    size *= 2
  return inverses[..., 0, :n, :n]


def cholesky_logdet(lower: jax.Array) -> jax.Array:
  """ln|A| from A's Cholesky factor L: 2 sum ln L_ii."""
  return 2.0 * jnp.sum(jnp.log(jnp.diagonal(lower, axis1=-2, axis2=-1)), axis=-1)


@jax.custom_jvp
def cholesky_inverse(matrix: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(L^{-1}, ln|A|) of symmetric positive definite [..., n, n] A = L L^T.

  Solve with it as A^{-1} b = L^{-T} (L^{-1} b): two products with the triangular inverse keep
  the accuracy of two triangular solves (errors grow with cond(L) = cond(A)^{1/2}), where
  forming A^{-1} first would not (cond(A)) -- which matters for the DKM's near-singular Sz in
  float32.
  """
  lower = jnp.linalg.cholesky(matrix)
  return lower_triangular_inverse(lower), cholesky_logdet(lower)


@cholesky_inverse.defjvp
def _cholesky_inverse_jvp(primals, tangents):
  """dL = L Phi(L^{-1} dA L^{-T}) (Phi: the lower triangle, half the diagonal), so
  d(L^{-1}) = -Phi(L^{-1} dA L^{-T}) L^{-1} and d ln|A| = tr(L^{-1} dA L^{-T})."""
  (matrix,), (d_matrix,) = primals, tangents
  # Only the symmetric part of a perturbation keeps A symmetric (as jnp.linalg.cholesky does).
  d_matrix = 0.5 * (d_matrix + jnp.swapaxes(d_matrix, -1, -2))
  lower_inv, logdet = cholesky_inverse(matrix)
  inner = lower_inv @ d_matrix @ jnp.swapaxes(lower_inv, -1, -2)
  phi = jnp.tril(inner) - 0.5 * jnp.eye(inner.shape[-1], dtype=inner.dtype) * inner
  d_lower_inv = -(phi @ lower_inv)
  d_logdet = jnp.trace(inner, axis1=-2, axis2=-1)
  return (lower_inv, logdet), (d_lower_inv, d_logdet)


def solve(lower_inv: jax.Array, rhs: jax.Array) -> jax.Array:
  """A^{-1} rhs from `cholesky_inverse`'s L^{-1}."""
  return jnp.swapaxes(lower_inv, -1, -2) @ (lower_inv @ rhs)


class System(NamedTuple):
  """A symmetric positive definite system A, factorised once."""
  solve: Callable    # b -> A^{-1} b
  logdet: jax.Array  # ln|A|
  inverse_diagonal: Callable  # () -> diag(A^{-1})


def system(matrix: jax.Array, linalg: str = "xla") -> System:
  """Factorises symmetric positive definite `matrix` [n, n] by `linalg` (one of LINALGS)."""
  if linalg == "xla":
    lower_inv, logdet = cholesky_inverse(matrix)
    return System(lambda b: solve(lower_inv, b), logdet,
                  lambda: jnp.sum(lower_inv * lower_inv, axis=-2))
  if linalg == "lapack":
    factor = jsl.cho_factor(matrix, lower=True)
    solve_with = lambda b: jsl.cho_solve(factor, b)
    eye = jnp.eye(matrix.shape[-1], dtype=matrix.dtype)
    return System(solve_with, cholesky_logdet(factor[0]),
                  lambda: jnp.diagonal(solve_with(eye)))
  raise ValueError(f"Unknown linalg {linalg!r}; expected one of {LINALGS}")
