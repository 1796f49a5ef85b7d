"""Fill a piece longer than one episode with the inpainting network, window by window.

Windows of S steps advance by `hop` steps; each fills its hidden entries given the piece's given
entries and everything filled before it (the left context a listener has heard), then counts
as known. Given entries are never changed, so a melody given in full comes back as given. A
network trained with a memory (`memory_context`) also reads, for each window, a memory of the
piece's fully given windows whole bars away that do not overlap it (none: the memory is off).
"""

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.prior import memory_context
from kanerva_music.prior import network
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


def fill_piece(net: network.InpaintingNet, params: dict, notes: np.ndarray, given: np.ndarray,
               *, read: str = "one_pass",
               rng: Optional[jax.Array] = None, hop: int = DEFAULT_HOP, num_steps: int = 32,
               min_share: float = 0.05, temperature: float = 1.0,
               memory: Optional[memory_context.MemoryConfig] = None,
               seed: int = 0) -> np.ndarray:
  """Pitch classes [L, 4] of a piece notes [L, 4] with its hidden entries (given == 0) filled.

  Args:
    net, params: the inpainting network (windows of `net`'s S steps: its step embedding's).
    notes: [L, 4] pitch classes; hidden entries' values are ignored.
    given: [L, 4] 1 = given (kept exactly), 0 = to fill.
    read: "one_pass" (argmax) or "gibbs" (`reads.gibbs` with num_steps, min_share,
      temperature and `rng`).
    hop: steps between window starts.
    memory: the network's memory (`MemoryConfig.of(config.prior)`; None or 0 rows: none) and
      `seed` (`config.seed`: the training's slot addresses).
  """
  if read not in reads.READS:
    raise ValueError(f"read {read!r}; expected one of {reads.READS}")
  window = params["step"].shape[0]
  known = np.asarray(given, np.float32).copy()
  out = np.where(known != 0, np.asarray(notes), 0).astype(np.int32)
  rng = jax.random.PRNGKey(0) if rng is None else rng
  stored = _piece_memory(np.asarray(notes), np.asarray(given), window, memory, seed)
  for i, start in enumerate(window_starts(len(out), window, hop)):
    piece = slice(start, start + window)
    x, m = jnp.asarray(out[piece]), jnp.asarray(known[piece])
    context = None if stored is None else stored(start, x, m)
    if read == "gibbs":
      fill = _gibbs(params, x, m, jax.random.fold_in(rng, i), context, net=net,
                    num_steps=num_steps, min_share=min_share, temperature=temperature)
    else:
      fill = _one_pass(params, x, m, context, net=net)
    out[piece] = np.asarray(fill)
    known[piece] = 1.0
  return out


def fully_given(given: np.ndarray, window: int) -> np.ndarray:
  """[L - window + 1] bool: whether the window starting at each step of a piece (given [L, 4])
  is given in every entry (what the piece's memory may hold)."""
  windows = np.lib.stride_tricks.sliding_window_view(np.asarray(given) != 0, window, axis=0)
  return np.asarray(windows.all(axis=(-2, -1)))


def _piece_memory(notes, given, window, memory, seed):
  """None without a memory, else a function (start, window notes, mask) -> the window's context
  [S, F] from the piece's fully given windows in its slots."""
  if memory is None or not memory.num_rows:
    return None
  offsets = memory_context.slot_offsets(memory.num_slots, window)
  addresses = memory_context.write_addresses(memory, seed)
  complete = fully_given(given, window)
  classes = np.where(given != 0, notes, 0).astype(np.int32)

  def context(start, x, m):
    rows = start + offsets
    inside = (rows >= 0) & (rows <= len(notes) - window)
    valid = inside & complete[np.clip(rows, 0, len(complete) - 1)]
    windows = np.stack([classes[r:r + window] if ok else np.zeros((window, 4), np.int32)
                        for r, ok in zip(rows, valid)])
    # the last slot (the window itself) stays empty: it is what is being filled
    windows = np.concatenate([windows, np.zeros((1, window, 4), np.int32)])
    valid = np.concatenate([valid, [False]])
    return _context(jnp.asarray(windows)[None], jnp.asarray(valid)[None], x[None], m[None],
                    addresses, noise=memory.noise)[0]
  return context


@functools.partial(jax.jit, static_argnames=("noise",))
def _context(windows, valid, notes, mask, addresses, *, noise):
  return memory_context.contexts(windows, valid, notes, mask, addresses, noise)


@functools.partial(jax.jit, static_argnames=("net",))
def _one_pass(params, notes, mask, context, *, net):
  return reads.one_pass(net, params, notes, mask, context).notes


@functools.partial(jax.jit, static_argnames=("net", "num_steps", "min_share", "temperature"))
def _gibbs(params, notes, mask, rng, context, *, net, num_steps, min_share, temperature):
  return reads.gibbs(net, params, notes, mask, rng, num_steps=num_steps, min_share=min_share,
                     temperature=temperature, context=context).notes
