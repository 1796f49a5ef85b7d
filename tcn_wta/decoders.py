"""The dictionary decoder, x[t P + p, c] = sum_d code[t, d] atom[d, p, c] (docs/tcn_wta.md, "Model"),
two ways: dense (the transposed convolution, kernel = stride = P) and sparse (only the k winning
atoms of each code step).

The sparse decoder reads the k-WTA code as (values, indices) [..., T, k] and never forms the
[..., T, D] code. Its custom VJP keeps the backward pass sparse too: the code's gradient is
computed only at the winners (a dot product of the output gradient with each winning atom) and the
dictionary's gradient is a scatter-add of the output gradient into the winning atoms. Each is a
`lax.scan` over the k winners, so the working set is one [N, P C] block at a time rather than
k of them.
"""

import jax
import jax.numpy as jnp

DECODERS = ("auto", "dense", "sparse")

# `auto` picks the sparse decoder when k * SPARSE_BELOW <= D. On XLA:CPU a dense matrix product
# does a multiply-add ~17-50x faster than the gathers and scatter-adds of the sparse decoder
# (`python -m tcn_wta.tools.benchmark --sweep`, docs/performance.md), so the sparse one wins only
# when it does some 25x fewer of them (whole training steps: faster up to k / D = 4%, slower from
# 6%).
SPARSE_BELOW = 25


def use_sparse(decoder: str, k: int, num_atoms: int) -> bool:
  """Whether `decoder` ("auto", "dense" or "sparse") decodes a k-of-D code sparsely."""
  if decoder not in DECODERS:
    raise ValueError(f"Unknown decoder {decoder!r}; expected one of {DECODERS}")
  if decoder == "auto":
    return k * SPARSE_BELOW <= num_atoms
  return decoder == "sparse"


def decode_dense(code: jax.Array, dictionary: jax.Array) -> jax.Array:
  """Sum of atoms placed at their code steps.

  Args:
    code: [..., T, D] code (any values; zeros for the losers).
    dictionary: [D, P, C] atoms.

  Returns:
    [..., T P, C] reconstruction.
  """
  out = jnp.einsum("...td,dpc->...tpc", code, dictionary)
  return out.reshape(*code.shape[:-2], code.shape[-2] * dictionary.shape[1], dictionary.shape[2])


@jax.custom_vjp
def _sum_of_winners(values, indices, atoms):
  """sum_j values[n, j] atoms[indices[n, j]]: [N, k], [N, k], [D, F] -> [N, F]."""
  def add_one(total, winner):
    value, index = winner
    return total + value[:, None] * atoms[index], None
  init = jnp.zeros((values.shape[0], atoms.shape[1]), jnp.result_type(values, atoms))
  return jax.lax.scan(add_one, init, (values.T, indices.T))[0]


def _sum_of_winners_fwd(values, indices, atoms):
  return _sum_of_winners(values, indices, atoms), (values, indices, atoms)


def _sum_of_winners_bwd(residuals, grad):
  values, indices, atoms = residuals

  def one_winner(atoms_grad, winner):
    value, index = winner
    value_grad = jnp.sum(grad * atoms[index], axis=-1)          # only at the winners
    return atoms_grad.at[index].add(value[:, None] * grad), value_grad

  atoms_grad, values_grad = jax.lax.scan(one_winner, jnp.zeros_like(atoms),
                                         (values.T, indices.T))
  return values_grad.T.astype(values.dtype), None, atoms_grad


_sum_of_winners.defvjp(_sum_of_winners_fwd, _sum_of_winners_bwd)


def decode_sparse(values: jax.Array, indices: jax.Array, dictionary: jax.Array) -> jax.Array:
  """`decode_dense` of the code that holds `values` at `indices` and zeros elsewhere.

  Args:
    values: [..., T, k] the winners' values.
    indices: [..., T, k] integer atom indices in [0, D); an atom may repeat (its values add).
    dictionary: [D, P, C] atoms.

  Returns:
    [..., T P, C] reconstruction, differentiable in `values` and `dictionary`.
  """
  num_atoms, patch, channels = dictionary.shape
  lead, (steps, k) = values.shape[:-2], values.shape[-2:]
  out = _sum_of_winners(values.reshape(-1, k), indices.reshape(-1, k),
                        dictionary.reshape(num_atoms, patch * channels))
  return out.reshape(*lead, steps * patch, channels)
