"""Corrupted inputs for the cleaning experiment (docs/tcn_wta.md, "Applications", 1).

Drums and rolls: a fraction `drop` of the played cells (hits, or key x step cells) is removed and
`add` x (their number) spurious cells are switched on at silent places, at the window's mean
velocity (and offset 0 for drums). Events: a fraction `drop` of the tokens is replaced by uniformly
random tokens (adding or removing events would shift everything after them).
"""

import numpy as np

from tcn_wta import groove


def _corrupt_cells(on, rng, drop, add):
  """(cells to switch off, cells to switch on) as boolean masks of `on`'s shape."""
  played = np.flatnonzero(on)
  silent = np.flatnonzero(~on)
  off = rng.choice(played, size=int(round(drop * len(played))), replace=False)
  new = rng.choice(silent, size=min(len(silent), int(round(add * len(played)))), replace=False)
  off_mask, on_mask = np.zeros(on.size, bool), np.zeros(on.size, bool)
  off_mask[off] = True
  on_mask[new] = True
  return off_mask.reshape(on.shape), on_mask.reshape(on.shape)


def corrupt_drums(window, rng, drop=0.2, add=0.2):
  n = groove.NUM_CLASSES
  out = np.array(window, np.float32)
  hits = out[:, :n] > 0.5
  off, on = _corrupt_cells(hits, rng, drop, add)
  velocity = float(out[:, n:2 * n][hits].mean()) if hits.any() else 0.7
  for block in range(3):
    out[:, block * n:(block + 1) * n][off] = 0.0
  out[:, :n][on] = 1.0
  out[:, n:2 * n][on] = velocity
  out[:, 2 * n:][on] = 0.0
  return out


def corrupt_roll(window, rng, drop=0.2, add=0.2):
  out = np.array(window, np.float32)
  played = out > 0.5
  off, on = _corrupt_cells(played, rng, drop, add)
  out[off] = 0.0
  out[on] = float(out[played].mean()) if played.any() else 1.0
  return out


def corrupt_events(tokens, rng, num_events, drop=0.2):
  out = np.array(tokens)
  replace = rng.random(out.shape) < drop
  out[replace] = rng.integers(0, num_events, int(replace.sum()))
  return out
