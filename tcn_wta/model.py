"""TCN k-WTA autoencoder (docs/tcn_wta.md, "Model").

encoder: TCN residual blocks (Bai et al. 2018) -> Conv1D(D atoms, kernel = stride = P);
code:    k-winners-take-all over the D atoms at every code step;
decoder: the dictionary, one transposed convolution with kernel = stride = P and no bias, so a
         reconstruction is a sum of shifted atoms: x[t P + p, c] = sum_d code[t, d] atom[d, p, c];
         computed densely or from the k winners only (`decoders`, chosen by `decoder`).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from music_runtime.training import layers
from tcn_wta import decoders


class CausalResidualBlock(nn.Module):
  """Two dilated causal convolutions with ReLU, and a 1x1 convolution on the skip if needed."""
  features: int
  kernel_size: int
  dilation: int

  @nn.compact
  def __call__(self, x):
    pad = ((self.kernel_size - 1) * self.dilation, 0)  # left only: causal
    y = x
    for _ in range(2):
      y = nn.relu(nn.Conv(self.features, (self.kernel_size,), kernel_dilation=(self.dilation,),
                          padding=(pad,))(y))
    skip = x if x.shape[-1] == self.features else nn.Conv(self.features, (1,))(x)
    return nn.relu(y + skip)


class TcnWta(nn.Module):
  """Encode [B, L, C] (L a multiple of P) to a sparse code [B, L / P, D] and decode it back.

  Attributes:
    channels: C, the input's (and output's) channels.
    num_atoms: D, the dictionary's atoms.
    patch: P, code steps are P input steps apart (the atoms' length).
    tcn_features: the TCN residual blocks' widths, dilations 1, 2, 4, ...; () for none.
    kernel_size: the TCN convolutions' kernel.
    decoder: "dense", "sparse" or "auto" (sparse when k * decoders.SPARSE_BELOW <= D); the
      same function and gradients either way, only the speed differs.
    kwta: how the dense path finds the winners (`layers.KWTA_METHODS`); the same winners.
  """
  channels: int
  num_atoms: int
  patch: int
  tcn_features: Sequence[int] = ()
  kernel_size: int = 3
  decoder: str = "dense"
  kwta: str = "auto"

  def setup(self):
    self.blocks = [CausalResidualBlock(f, self.kernel_size, 2**i)
                   for i, f in enumerate(self.tcn_features)]
    self.to_atoms = nn.Conv(self.num_atoms, (self.patch,), strides=(self.patch,), padding="VALID")
    self.dictionary = self.param(
        "dictionary", nn.initializers.normal(1.0 / (self.patch * self.channels) ** 0.5),
        (self.num_atoms, self.patch, self.channels))

  def encode_dense(self, x: jax.Array) -> jax.Array:
    """[B, L, C] -> [B, L / P, D], the pre-k-WTA activations."""
    if x.shape[-2] % self.patch:
      raise ValueError(f"Length {x.shape[-2]} is not a multiple of the patch size {self.patch}")
    for block in self.blocks:
      x = block(x)
    return self.to_atoms(x)

  def encode(self, x: jax.Array, k: int) -> jax.Array:
    """[B, L, C] -> the k-WTA code [B, L / P, D] (k non-zero per code step)."""
    return layers.k_winners_take_all(self.encode_dense(x), k, self.kwta)

  def decode(self, code: jax.Array) -> jax.Array:
    """Sum of atoms placed at their code steps: [..., T, D] -> [..., T P, C] (always dense)."""
    return decoders.decode_dense(code, self.dictionary)

  def __call__(self, x: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """(reconstruction [B, L, C], code [B, L / P, D]) of x [B, L, C] with k winners."""
    if decoders.use_sparse(self.decoder, k, self.num_atoms):
      values, indices = jax.lax.top_k(self.encode_dense(x), k)
      # The dense code is only built if the caller uses it (training does not: jit drops it).
      return (decoders.decode_sparse(values, indices, self.dictionary),
              layers.winners_to_code(values, indices, self.num_atoms))
    code = self.encode(x, k)
    return self.decode(code), code


def project_dictionary(params):
  """Rescales every atom to norm <= 1 (the constraint set C of the paper's section 2.1)."""
  atoms = params["dictionary"]
  norms = jnp.sqrt(jnp.sum(atoms**2, axis=(1, 2), keepdims=True))
  return {**params, "dictionary": atoms / jnp.maximum(norms, 1.0)}


def k_at_step(schedule, step):
  """The k of a decaying schedule: from k_start, minus k_decrement every decay_every steps, down
  to k_end. Python ints, so each distinct k compiles once."""
  decays = step // schedule.decay_every if schedule.decay_every > 0 else 0
  return max(schedule.k_end, schedule.k_start - decays * schedule.k_decrement)
