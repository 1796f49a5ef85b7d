"""Sparse codes of windows and whole pieces, and their top-N simplifications (docs/tcn_wta.md,
"Applications").

Pieces of any length are cut into windows of the training length (the encoder saw windows that
start from silence, so codes of such windows are what it learnt); the tail window is zero-padded
and its padded code steps are masked out. The encoder is causal, so padding after a step never
changes that step's code.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.training import batching
from tcn_wta.datasets import representations


class PieceWindows(NamedTuple):
  inputs: np.ndarray  # [W, window, C], or [W, window] token ids for events; zero-padded
  piece: np.ndarray   # [W] index of the window's piece
  valid: np.ndarray   # [W] steps of the window inside its piece (a multiple of the patch)


def piece_windows(pieces, window, patch, max_windows_per_piece=0):
  """Non-overlapping windows of every piece (evenly spaced ones if a piece has more than
  `max_windows_per_piece` > 0); pieces shorter than one patch are left out."""
  inputs, piece_ids, valid = [], [], []
  offsets = np.concatenate([[0], np.cumsum(pieces.lengths)])
  for i in range(len(pieces)):
    length = int(pieces.lengths[i]) - int(pieces.lengths[i]) % patch
    starts = np.arange(0, length, window)
    if max_windows_per_piece and len(starts) > max_windows_per_piece:
      starts = starts[np.linspace(0, len(starts) - 1, max_windows_per_piece).round().astype(int)]
    for start in starts:
      rows = pieces.data[offsets[i] + start:offsets[i] + min(start + window, length)]
      pad = [(0, window - len(rows))] + [(0, 0)] * (rows.ndim - 1)
      inputs.append(np.pad(rows, pad))
      piece_ids.append(i)
      valid.append(len(rows))
  if not inputs:
    raise ValueError(f"No piece is at least {patch} steps long")
  return PieceWindows(np.stack(inputs), np.array(piece_ids), np.array(valid))


def make_encoder(net, params, rep, k):
  """Jitted ([B, window(, C)] inputs) -> ([B, window, C] model inputs, [B, T, D] k-sparse codes)."""

  @jax.jit
  def encode(inputs):
    x = rep.to_inputs(inputs, net.channels)
    return x, net.apply({"params": params}, x, k, method=net.encode)

  return encode


def make_decoder(net, params):
  """Jitted [B, T, D] codes -> [B, T P, C] outputs (the dictionary, docs/tcn_wta.md, "Model")."""
  return jax.jit(lambda code: net.apply({"params": params}, code, method=net.decode))


def piece_features(net, params, config, k, windows):
  """(mean code [pieces, D], mean input patch [pieces, P C]) over each piece's valid code steps.

  The mean code is the paper's "average dictionary word value" (section 3.7); the mean input
  patch is the same average taken on the raw input, the baseline for probes and style maps.
  """
  encode = make_encoder(net, params, representations.of(config.data), k)
  patch = net.patch

  @jax.jit
  def sums(inputs, valid):
    x, code = encode(inputs)
    mask = (jnp.arange(code.shape[1]) * patch < valid[:, None]).astype(code.dtype)
    patches = x.reshape(x.shape[0], code.shape[1], -1)
    return (jnp.einsum("bt,btd->bd", mask, code), jnp.einsum("bt,btf->bf", mask, patches),
            jnp.sum(mask, 1))

  code_sum, raw_sum, count = batching.map_in_batches(sums, (windows.inputs, windows.valid),
                                                     config.batch_size)
  num_pieces = int(windows.piece.max()) + 1
  totals = [np.zeros((num_pieces,) + s.shape[1:], np.float64) for s in (code_sum, raw_sum, count)]
  for total, part in zip(totals, (code_sum, raw_sum, count)):
    np.add.at(total, windows.piece, part)
  present = totals[2] > 0
  return (totals[0][present] / totals[2][present, None], totals[1][present] / totals[2][present, None],
          np.flatnonzero(present))


def keep_top_n(code, n):
  """The n largest-magnitude entries of each window's code [B, T, D] (all others 0)."""
  flat = code.reshape(code.shape[0], -1)
  n = min(n, flat.shape[1])
  _, winners = jax.lax.top_k(jnp.abs(flat), n)
  kept = jnp.zeros_like(flat).at[jnp.arange(flat.shape[0])[:, None], winners].set(
      jnp.take_along_axis(flat, winners, axis=1))
  return kept.reshape(code.shape)


def entry_bits(code_steps, num_atoms, value_bits=16):
  """Bits of one code entry: its step, its atom and a float16 value."""
  return math.ceil(math.log2(max(code_steps, 2))) + math.ceil(math.log2(max(num_atoms, 2))) + \
      value_bits


def sparse_code_bytes(n, code_steps, num_atoms, value_bits=16):
  """Bytes of a window's code with n entries kept (no header; entries bit-packed)."""
  return math.ceil(n * entry_bits(code_steps, num_atoms, value_bits) / 8)


def keep_top_atoms(code, n):
  """The paper's top-N (the authors' `keep_topk`): in each window [B, T, D] keep only the n atoms
  active at the most code steps (ties: the larger summed magnitude), all their entries; the
  other atoms' entries become 0. A reduction of the piece to its n commonest patterns."""
  used = jnp.sum(code != 0, axis=1).astype(code.dtype)                    # [B, D]
  magnitude = jnp.sum(jnp.abs(code), axis=1)
  score = used + magnitude / (1 + jnp.max(magnitude, axis=-1, keepdims=True))  # tie-break < 1
  _, atoms = jax.lax.top_k(score, min(n, code.shape[-1]))
  keep = jnp.zeros(score.shape, bool).at[jnp.arange(code.shape[0])[:, None], atoms].set(True)
  return code * keep[:, None, :]
