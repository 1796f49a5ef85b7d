"""What the sparse code's size is compared with (docs/tcn_wta.md, "Applications", 2).

The codes are lossy, so their bytes are set beside
- the lossless grid encoding of the same played cells: the smaller of a bitmap (one bit per step
  and row; a drum-hit bitmap is 18 bytes per 4/4 bar of 16ths) and a run-length code (per played
  row: its id, its number of runs, and each run's start and length), and
- a lossy grid baseline at equal quality: the grid restricted to its m most played rows (drum
  classes or keys), whose F1 and bytes are measured for every m.
Cells only: drum velocities and offsets are in neither side of the comparison.
"""

import math

import numpy as np

from tcn_wta.applications import cleaning


def _bits(values):
  return math.ceil(math.log2(max(int(values), 2)))


def bitmap_bytes(played):
  """[W, L, R] played cells -> [W] bytes of one bit per cell."""
  _, length, rows = played.shape
  return np.full(played.shape[0], math.ceil(length * rows / 8), np.float64)


def run_length_bytes(played):
  """[W, L, R] -> [W] bytes of a run-length code: a row count, then per played row its id, its
  number of runs and each run's (start, length)."""
  _, length, rows = played.shape
  padded = np.pad(played, ((0, 0), (1, 0), (0, 0)))
  runs = np.sum(padded[:, 1:] & ~padded[:, :-1], axis=1)           # [W, R] runs per row
  played_rows = np.sum(runs > 0, axis=1)
  bits = (_bits(rows + 1) + played_rows * (_bits(rows) + _bits(length + 1))
          + np.sum(runs, axis=1) * 2 * _bits(length + 1))
  return np.ceil(bits / 8)


def lossless_bytes(played):
  """[W] bytes of the better lossless grid encoding of each window."""
  return np.minimum(bitmap_bytes(played), run_length_bytes(played))


def row_subset_curve(played, sizes=None):
  """The lossy grid baseline: for m rows kept (the m most played of these windows), the pooled
  F1 against the full grid and the mean lossless bytes per window."""
  rows = played.shape[-1]
  order = np.argsort(-played.sum(axis=(0, 1)), kind="stable")
  sizes = sizes or sorted({min(2**i, rows) for i in range(rows.bit_length() + 1)} | {rows})
  curve = []
  for m in sizes:
    kept = np.zeros(rows, bool)
    kept[order[:m]] = True
    subset = played & kept
    curve.append({"rows": int(m), "f1": cleaning.pooled_f1(subset, played),
                  "bytes_per_window": float(np.mean(lossless_bytes(subset)))})
  return curve


def bytes_at_quality(curve, quality, key="bytes_per_window"):
  """The bytes with which the baseline reaches `quality`, linear between the curve's points
  (time sharing between two of them achieves it); None if it never does."""
  points = sorted((point["f1"], point[key]) for point in curve)
  if not points or quality > points[-1][0]:
    return None
  if quality <= points[0][0]:
    return points[0][1]
  for (f_low, b_low), (f_high, b_high) in zip(points, points[1:]):
    if f_low <= quality <= f_high:
      share = (quality - f_low) / (f_high - f_low) if f_high > f_low else 1.0
      return b_low + share * (b_high - b_low)
  return None


def token_bits(vocabulary):
  """Bits of one token id: ceil(log2(vocabulary))."""
  return _bits(vocabulary)


def token_bytes(num_tokens, vocabulary):
  """Bytes of `num_tokens` token ids."""
  return math.ceil(num_tokens * token_bits(vocabulary) / 8)
