"""The codec DKM's encoder and decoder (Flax), on pitch classes 0..45 (MIDI 36..81).

The encoder codes each block of `block_steps` steps from that block's notes alone, so a block
that a cue observes in full has exactly the code it was written with: the paper's masked read
(eq. 6) then works in code space, on the observed blocks' code entries. The decoder gives a
categorical distribution over the 46 pitches of every voice and step from the memory's read-out
and the cue's own notes (masked notes replaced by a mask token).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from music_runtime.training import layers

NUM_PITCHES = 46
NUM_VOICES = 4
MASK_TOKEN = NUM_PITCHES
ENCODERS = ("mlp", "conv", "kwta")


def note_tokens(pitch_classes: jax.Array, mask: jax.Array) -> jax.Array:
  """[..., S, 4] pitch classes where observed (mask != 0), MASK_TOKEN elsewhere."""
  return jnp.where(mask != 0, pitch_classes, MASK_TOKEN)


class NoteEmbedding(nn.Module):
  """Tokens [..., S, 4] -> [..., S, 4 * features]: a pitch embedding plus a voice embedding."""
  features: int

  @nn.compact
  def __call__(self, tokens):
    embedded = nn.Embed(NUM_PITCHES + 1, self.features)(tokens)
    embedded = embedded + self.param("voice", nn.initializers.normal(0.02),
                                     (NUM_VOICES, self.features))
    return embedded.reshape(tokens.shape[:-1] + (NUM_VOICES * self.features,))


class BlockEncoder(nn.Module):
  """Pitch classes and mask [..., S, 4] -> code [..., (S / block_steps) * block_features].

  kind "mlp": each block's embedded notes through one hidden layer; "conv": two causal dilated
  convolutions over the block's steps first (a small temporal conv net); "kwta": the MLP's block
  code keeps its `kwta_k` largest entries (the k-winners-take-all code of the TCN-WTA model).
  The code's last layer also sees the block's pitches scaled to [-1, 1] (0 where masked): the
  linear DKM's own code (z = x) is one setting of it, so training starts from a code a decoder
  can read precisely (without it, 1,500 steps reached 69% exact autoencoding of JSB test
  episodes). Every block's code is scaled to unit root mean square, so the memory's write noise
  sigma_xi is relative to the code's own scale.
  """
  kind: str
  block_steps: int
  block_features: int
  hidden: int = 256
  embed: int = 16
  kwta_k: int = 4

  @nn.compact
  def __call__(self, pitch_classes, mask):
    if self.kind not in ENCODERS:
      raise ValueError(f"encoder {self.kind!r}; expected one of {ENCODERS}")
    steps = NoteEmbedding(self.embed)(note_tokens(pitch_classes, mask))  # [..., S, 4E]
    lead, num_steps = steps.shape[:-2], steps.shape[-2]
    num_blocks = num_steps // self.block_steps
    blocks = steps.reshape(lead + (num_blocks, self.block_steps, steps.shape[-1]))
    if self.kind == "conv":
      for dilation in (1, 2):
        conv = nn.Conv(self.hidden // 4, (2,), kernel_dilation=(dilation,),
                       padding=((dilation, 0),))
        flat = blocks.reshape((-1,) + blocks.shape[-2:])
        blocks = nn.gelu(conv(flat)).reshape(lead + (num_blocks, self.block_steps, -1))
    h = blocks.reshape(lead + (num_blocks, -1))
    h = h + self.param("block_position", nn.initializers.normal(0.02), h.shape[-2:])
    pitches = jnp.where(mask != 0, 2.0 * pitch_classes / (NUM_PITCHES - 1) - 1.0, 0.0)
    pitches = pitches.reshape(lead + (num_blocks, -1)).astype(h.dtype)
    code = nn.Dense(self.block_features)(
        jnp.concatenate([nn.gelu(nn.Dense(self.hidden)(h)), pitches], axis=-1))
    if self.kind == "kwta":
      code = layers.k_winners_take_all(code, self.kwta_k)
    code = code * jax.lax.rsqrt(jnp.mean(code * code, axis=-1, keepdims=True) + 1e-6)
    return code.reshape(lead + (num_blocks * self.block_features,))


class LocalMixing(nn.Module):
  """A residual layer mixing each step with its neighbours `dilation` steps away (a kernel-3
  dilated convolution written as one dense layer over the three steps)."""
  width: int
  dilation: int
  dropout: float

  @nn.compact
  def __call__(self, h, train):
    y = nn.LayerNorm()(h)
    d = self.dilation
    padded = jnp.pad(y, [(0, 0)] * (y.ndim - 2) + [(d, d), (0, 0)])
    y = jnp.concatenate([padded[..., :-2 * d, :], y, padded[..., 2 * d:, :]], axis=-1)
    y = nn.Dense(self.width)(nn.gelu(nn.Dense(self.width)(y)))
    return h + nn.Dropout(self.dropout, deterministic=not train)(y)


class Decoder(nn.Module):
  """(read-out [..., C'], its fit [...], cue pitch classes and mask [..., S, 4]) -> logits
  [..., S, 4, 46].

  `fit` is how well the memory explains the cue (`objective.masked_read`): the log of the mean
  squared residual of the read on the observed code entries, a function of the cue and the
  memory only, so the decoder is p(x_masked | x_observed, M). It tells a stored episode (the read
  fits its observed blocks exactly) from an unseen one; learning that comparison from the
  read-out and the notes alone is what the decoder otherwise has to do. A global path (the
  read-out, its fit and every cue note through two hidden layers) and a local one (each block's
  read-out through its own hidden layer, and each step's cue notes), mixed over neighbouring
  steps.
  """
  num_blocks: int
  block_steps: int
  hidden: int = 1024
  embed: int = 16
  width: int = 128
  dropout: float = 0.1

  @nn.compact
  def __call__(self, readout: jax.Array, fit: jax.Array, pitch_classes: jax.Array,
               mask: jax.Array, train: bool = False) -> jax.Array:
    steps = NoteEmbedding(self.embed)(note_tokens(pitch_classes, mask))  # [..., S, 4E]
    lead, num_steps = steps.shape[:-2], steps.shape[-2]
    fit = jnp.broadcast_to(fit, lead)[..., None] / 4.0  # log residuals span about -8..0
    h = jnp.concatenate([readout, fit, steps.reshape(lead + (-1,))], axis=-1)
    h = nn.Dropout(self.dropout, deterministic=not train)(nn.gelu(nn.Dense(self.hidden)(h)))
    h = nn.gelu(nn.Dense(self.hidden)(h))
    h = nn.Dense(num_steps * 64)(h).reshape(lead + (num_steps, 64))
    per_block = readout.reshape(lead + (self.num_blocks, -1))
    local = nn.Dense(self.block_steps * 32)(nn.gelu(nn.Dense(256)(per_block)))
    local = local.reshape(lead + (num_steps, 32))
    fit_per_step = jnp.broadcast_to(fit[..., None, :], lead + (num_steps, 1))
    h = nn.Dense(self.width)(jnp.concatenate([h, local, steps, fit_per_step], axis=-1))
    for dilation in (1, 2):
      h = LocalMixing(self.width, dilation, self.dropout)(h, train)
    logits = nn.Dense(NUM_VOICES * NUM_PITCHES)(nn.LayerNorm()(h))
    return logits.reshape(lead + (num_steps, NUM_VOICES, NUM_PITCHES))
