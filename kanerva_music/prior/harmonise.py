"""Fill a piece longer than one episode with the inpainting network, window by window.

Windows of S steps advance by `hop` steps; each fills its hidden entries given the piece's given
entries and everything filled before it (the left context a listener has heard), then counts
as known. Given entries are never changed, so a melody given in full comes back as given.
"""

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.prior import reads

DEFAULT_HOP = 16  # one bar of 4/4 in 16th notes


def window_starts(num_steps: int, window: int, hop: int) -> list:
  """Starts of windows of `window` steps every `hop` steps, the last one ending the piece."""
  if num_steps < window:
    raise ValueError(f"a piece of {num_steps} steps is shorter than one window ({window})")
  starts = list(range(0, num_steps - window + 1, hop))
  if starts[-1] != num_steps - window:
    starts.append(num_steps - window)
  return starts


def fill_piece(net, params, notes: np.ndarray, given: np.ndarray, *, read: str = "one_pass",
               rng: Optional[jax.Array] = None, hop: int = DEFAULT_HOP, num_steps: int = 32,
               min_share: float = 0.05, temperature: float = 1.0) -> np.ndarray:
  """Pitch classes [L, 4] of a piece notes [L, 4] with its hidden entries (given == 0) filled.

  Args:
    net, params: the inpainting network (windows of `net`'s S steps: its step embedding's).
    notes: [L, 4] pitch classes; hidden entries' values are ignored.
    given: [L, 4] 1 = given (kept exactly), 0 = to fill.
    read: "one_pass" (argmax) or "gibbs" (`reads.gibbs` with num_steps, min_share,
      temperature and `rng`).
    hop: steps between window starts.
  """
  if read not in reads.READS:
    raise ValueError(f"read {read!r}; expected one of {reads.READS}")
  window = params["step"].shape[0]
  known = np.asarray(given, np.float32).copy()
  out = np.where(known != 0, np.asarray(notes), 0).astype(np.int32)
  rng = jax.random.PRNGKey(0) if rng is None else rng
  for i, start in enumerate(window_starts(len(out), window, hop)):
    piece = slice(start, start + window)
    x, m = jnp.asarray(out[piece]), jnp.asarray(known[piece])
    if read == "gibbs":
      fill = _gibbs(params, x, m, jax.random.fold_in(rng, i), net=net, num_steps=num_steps,
                    min_share=min_share, temperature=temperature)
    else:
      fill = _one_pass(params, x, m, net=net)
    out[piece] = np.asarray(fill)
    known[piece] = 1.0
  return out


@functools.partial(jax.jit, static_argnames=("net",))
def _one_pass(params, notes, mask, *, net):
  return reads.one_pass(net, params, notes, mask).notes


@functools.partial(jax.jit, static_argnames=("net", "num_steps", "min_share", "temperature"))
def _gibbs(params, notes, mask, rng, *, net, num_steps, min_share, temperature):
  return reads.gibbs(net, params, notes, mask, rng, num_steps=num_steps, min_share=min_share,
                     temperature=temperature).notes
