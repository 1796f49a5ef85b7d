"""The orderless inpainting network: p(hidden entries | given entries) of a 2-bar episode.

Coconet's idea (Huang, Cooijmans, Roberts, Courville and Eck, "Counterpoint by Convolution",
ISMIR 2017; orderless NADE, Uria, Murray and Larochelle 2014): one network reads an episode
[S, 4] whose hidden entries carry a HIDDEN token and gives a categorical over the 46 pitch
classes of every voice and step. Each step's four tokens are embedded by per-voice tables and
summed (a linear map of the four one-hot vectors) with a step embedding; the trunk is either a
pre-norm transformer over the S steps or a dilated residual convolution over time; the head maps
each step to 4 x 46 logits.
"""

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from kanerva_music.data import pitch_classes

NUM_PITCHES = pitch_classes.NUM_PITCHES
NUM_VOICES = pitch_classes.NUM_VOICES
HIDDEN = NUM_PITCHES  # the token of a hidden entry
KINDS = ("transformer", "conv")
CONV_DILATIONS = (1, 2, 4, 8, 16)


def tokens(notes: jax.Array, mask: jax.Array) -> jax.Array:
  """Pitch classes [..., S, 4] where given (mask != 0), HIDDEN elsewhere (int32)."""
  return jnp.where(mask != 0, notes, HIDDEN).astype(jnp.int32)


class TransformerBlock(nn.Module):
  """Pre-norm self-attention over the steps, then a 4x GELU MLP, each residual."""
  width: int
  heads: int
  dropout: float

  @nn.compact
  def __call__(self, h, train):
    drop = lambda y: nn.Dropout(self.dropout, deterministic=not train)(y)
    y = nn.LayerNorm()(h)
    h = h + drop(nn.MultiHeadDotProductAttention(self.heads, deterministic=True)(y, y))
    y = nn.Dense(self.width)(nn.gelu(nn.Dense(4 * self.width)(nn.LayerNorm()(h))))
    return h + drop(y)


class ConvBlock(nn.Module):
  """Pre-norm kernel-3 convolution over time at `dilation`, GELU, a 1x1 projection; residual."""
  width: int
  dilation: int
  dropout: float

  @nn.compact
  def __call__(self, h, train):
    y = nn.Conv(2 * self.width, (3,), kernel_dilation=(self.dilation,), padding="SAME")(
        nn.LayerNorm()(h))
    y = nn.Dense(self.width)(nn.gelu(y))
    return h + nn.Dropout(self.dropout, deterministic=not train)(y)


class InpaintingNet(nn.Module):
  """Tokens [..., S, 4] (`tokens`) -> logits [..., S, 4, 46].

  Attributes:
    kind: "transformer" or "conv" (the trunk).
    width: features per step.
    depth: blocks in the trunk (conv: dilations cycle through CONV_DILATIONS).
    heads: attention heads (transformer).
    dropout: rate inside the blocks while training.
    context: features per step of an optional context [..., S, context] added to the input
      embedding (0: none).
  """
  kind: str = "transformer"
  width: int = 256
  depth: int = 6
  heads: int = 4
  dropout: float = 0.1
  context: int = 0

  @nn.compact
  def __call__(self, tokens_in: jax.Array, context: Optional[jax.Array] = None,
               train: bool = False) -> jax.Array:
    if self.kind not in KINDS:
      raise ValueError(f"prior network {self.kind!r}; expected one of {KINDS}")
    lead, num_steps = tokens_in.shape[:-2], tokens_in.shape[-2]
    voice_offset = jnp.arange(NUM_VOICES, dtype=jnp.int32) * (NUM_PITCHES + 1)
    embedded = nn.Embed(NUM_VOICES * (NUM_PITCHES + 1), self.width)(tokens_in + voice_offset)
    h = jnp.sum(embedded, axis=-2)  # [..., S, width]
    h = h + self.param("step", nn.initializers.normal(0.02), (num_steps, self.width))
    if self.context:
      h = h + nn.Dense(self.width)(context)
    flat = h.reshape((-1, num_steps, self.width))
    for i in range(self.depth):
      if self.kind == "transformer":
        flat = TransformerBlock(self.width, self.heads, self.dropout)(flat, train)
      else:
        dilation = CONV_DILATIONS[i % len(CONV_DILATIONS)]
        flat = ConvBlock(self.width, dilation, self.dropout)(flat, train)
    logits = nn.Dense(NUM_VOICES * NUM_PITCHES)(nn.LayerNorm()(flat))
    return logits.reshape(lead + (num_steps, NUM_VOICES, NUM_PITCHES))
