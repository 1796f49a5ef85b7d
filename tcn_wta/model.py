"""TCN k-WTA autoencoder (docs/tcn_wta.md, "Model").

encoder: TCN residual blocks (Bai et al. 2018) -> Conv1D(D atoms, kernel = stride = P);
code:    k-winners-take-all over the D atoms at every code step;
decoder: the dictionary, one transposed convolution with kernel = stride = P and no bias, so a
         reconstruction is a sum of shifted atoms: x[t P + p, c] = sum_d code[t, d] atom[d, p, c].
"""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from music_runtime.training import layers


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
  """Encode [B, L, C] (L a multiple of P) to a sparse code [B, L / P, D] and decode it back."""
  channels: int
  num_atoms: int
  patch: int
  tcn_features: Sequence[int] = ()
  kernel_size: int = 3

  def setup(self):
    self.blocks = [CausalResidualBlock(f, self.kernel_size, 2**i)
                   for i, f in enumerate(self.tcn_features)]
    self.to_atoms = nn.Conv(self.num_atoms, (self.patch,), strides=(self.patch,), padding="VALID")
    self.dictionary = self.param(
        "dictionary", nn.initializers.normal(1.0 / (self.patch * self.channels) ** 0.5),
        (self.num_atoms, self.patch, self.channels))

  def encode_dense(self, x):
    if x.shape[-2] % self.patch:
      raise ValueError(f"Length {x.shape[-2]} is not a multiple of the patch size {self.patch}")
    for block in self.blocks:
      x = block(x)
    return self.to_atoms(x)

  def encode(self, x, k):
    return layers.k_winners_take_all(self.encode_dense(x), k)

  def decode(self, code):
    """Sum of atoms placed at their code steps: the transposed convolution, kernel = stride = P."""
    out = jnp.einsum("...td,dpc->...tpc", code, self.dictionary)
    return out.reshape(*code.shape[:-2], code.shape[-2] * self.patch, self.channels)

  def __call__(self, x, k):
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
