"""The context task: complete a window of an unseen chorale with a memory of its other windows.

Where an episodic memory earns its place (docs/dkm.md, "The prior", and the design's Addendum 3):
for a bar-aligned window of a test chorale, the memory holds the chorale's other bar-aligned
windows that do not overlap it (`memory_context.stored_slots`); the window is completed under
each mask with the memory on, with it off (the same network, zero context), and by the list
baseline (the stored window nearest on the given entries, its hidden entries copied). Stored
recall adds the window itself to the memory. Each figure stands beside the bytes it keeps.
"""

import functools

import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.data import pitch_classes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.prior import memory_context
from kanerva_music.prior import network
from kanerva_music.prior import reads

CHUNK = 64  # windows completed per program call inside `lax.map`


def target_rows(grid: memory_context.ChoraleGrid, offsets: np.ndarray, count: int,
                seed: int) -> np.ndarray:
  """Up to `count` rows (sorted, seeded choice) where a bar-aligned rest-free window starts that
  has at least one stored window (`offsets` [L] the memory's slots)."""
  grid = jax.device_get(grid)
  starts = np.flatnonzero(np.asarray(grid.valid_start))
  aligned = starts[(starts - np.asarray(grid.first_row)[starts]) % memory_context.BAR_STEPS == 0]
  _, valid = memory_context.stored_slots(grid, aligned, np.asarray(offsets), 1)
  usable = aligned[valid.any(axis=1)]
  chosen = np.random.default_rng(seed).permutation(len(usable))[:count]
  return np.sort(usable[chosen])


@functools.partial(jax.jit, static_argnames=("net", "noise"))
def _memory_sums(params, notes, masks, stored, valid, addresses, *, net, noise):
  """`pitch_metrics.categorical_sums` of the one-pass read of windows notes [Q, S, 4] under
  masks [Q, S, 4], each read with the memory of its stored windows [Q, L, S, 4] (valid
  [Q, L]); Q a multiple of CHUNK."""
  def one(args):
    n, m, st, v = args
    context = memory_context.contexts(st, v, n, m, addresses, noise)
    fill = reads.one_pass(net, params, n, m, context)
    return pitch_metrics.categorical_sums(n, fill.notes[None], fill.logits, m == 0)

  split = lambda x: x.reshape((-1, CHUNK) + x.shape[1:])
  sums = jax.lax.map(one, (split(notes), split(masks), split(stored), split(valid)))
  return jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), sums)


def _padded(x: np.ndarray, size: int) -> np.ndarray:
  return np.concatenate([x, np.repeat(x[-1:], size - len(x), axis=0)]) if size > len(x) else x


def _accuracy(net: network.InpaintingNet, params: dict, notes: np.ndarray, masks: np.ndarray,
              stored: np.ndarray, valid: np.ndarray, addresses: jax.Array,
              noise: float) -> dict:
  count = len(notes)
  size = -(-count // CHUNK) * CHUNK
  pad = lambda x: jnp.asarray(_padded(x, size))
  # Padding repeats the last window; its entries are removed from the sums by masking them all
  # given (nothing hidden to score).
  masks = np.concatenate([masks, np.ones((size - count,) + masks.shape[1:], masks.dtype)])
  sums = _memory_sums(params, pad(notes), jnp.asarray(masks), pad(stored), pad(valid),
                      jnp.asarray(addresses), net=net, noise=noise)
  means = pitch_metrics.categorical_means(sums)
  return {"acc_exact": means["acc_exact"][-1], "nll_nats_per_note": means["nll"]}


def list_completion(notes: np.ndarray, masks: np.ndarray, stored: np.ndarray,
                    valid: np.ndarray) -> np.ndarray:
  """The list baseline: each window's hidden entries copied from its valid stored window with
  the fewest mismatches on the given entries (the first on ties)."""
  given = masks[:, None] != 0
  mismatches = np.sum((stored != notes[:, None]) & given, axis=(-2, -1)).astype(np.float64)
  mismatches[~valid] = np.inf
  nearest = stored[np.arange(len(notes)), np.argmin(mismatches, axis=1)]
  return np.where(masks != 0, notes, nearest)


def hold_last_completion(notes: np.ndarray, masks: np.ndarray) -> np.ndarray:
  """The hold-last baseline on windows notes [Q, S, 4] (`baselines.hold_last_chord`: each
  hidden entry its voice's last given pitch), as pitch classes."""
  cues = pitch_classes.to_normalised(np.asarray(notes))[:, None]  # [Q, 1, C]
  held = baselines.hold_last_chord(jnp.asarray(cues), jnp.asarray(masks.reshape(len(masks), -1)))
  return np.where(masks != 0, notes,
                  pitch_classes.from_normalised(np.asarray(held)[:, 0], notes.shape[-2]))


def recall_ceiling(notes: np.ndarray, masks: np.ndarray, stored: np.ndarray,
                   valid: np.ndarray) -> float:
  """The best exact accuracy any read can reach on the hidden entries of windows notes [Q, S, 4]
  stored in a memory beside their other windows [Q, L, S, 4] (valid [Q, L]): where other stored
  windows agree with a window on every given entry, nothing in the cue tells them apart, and the
  best guess per hidden entry is the pitch most of them hold (ties shared)."""
  right, total = 0.0, 0
  for q in range(len(notes)):
    given = masks[q] != 0
    same = [w for w, ok in zip(stored[q], valid[q]) if ok and np.array_equal(w[given],
                                                                              notes[q][given])]
    hidden = np.stack([notes[q]] + same)[:, ~given]  # [n, H]
    for column, truth in zip(hidden.T, notes[q][~given]):
      values, counts = np.unique(column, return_counts=True)
      top = values[counts == counts.max()]
      right += float(truth in top) / len(top)
    total += hidden.shape[1]
  return right / max(total, 1)


def context_section(net: network.InpaintingNet, params: dict, grid: memory_context.ChoraleGrid,
                    config: ConfigDict) -> dict:
  """{"context": {mask: {memory_on, memory_off, list, hold_last_chord: {acc_exact, bytes, ...}}},
  "stored": {mask: {acc_exact, ceiling, ...}}, "windows", "mean_stored_windows"} on the test
  split's
  bar-aligned windows (config.eval.context_windows of them, config.eval.context_masks)."""
  memory = memory_context.MemoryConfig.of(config.prior)
  s = config.data.episode_steps
  offsets = memory_context.slot_offsets(memory.num_slots, s)
  rows = target_rows(grid, offsets, config.eval.context_windows, config.eval.seed + 19)
  grid = jax.device_get(grid)
  notes = memory_context.grid_windows(grid, rows, s)
  stored, valid = memory_context.stored_slots(grid, rows, offsets, s)
  addresses = memory_context.write_addresses(memory, config.seed)
  with_self = np.concatenate([stored, notes[:, None]], axis=1)
  others = np.concatenate([valid, np.zeros((len(rows), 1), bool)], axis=1)
  itself = np.concatenate([valid, np.ones((len(rows), 1), bool)], axis=1)
  nothing = np.zeros_like(others)
  mean_stored = float(valid.sum(axis=1).mean())
  memory_bytes = memory_context.memory_bytes(memory.num_rows, s)
  rng = np.random.default_rng(config.eval.seed + 23)
  context, stored_recall = {}, {}
  for name in config.eval.context_masks:
    masks = evaluate.observation_mask(name, len(rows), s, rng).reshape(len(rows), s, 4)
    run = lambda v: _accuracy(net, params, notes, masks, with_self, v, addresses, memory.noise)
    listed = list_completion(notes, masks, stored, valid)
    held = hold_last_completion(notes, masks)
    hidden = masks == 0
    context[name] = {
        "memory_on": dict(run(others), bytes=memory_bytes),
        "memory_off": dict(run(nothing), bytes=0),
        "list": {"acc_exact": float(np.mean(listed[hidden] == notes[hidden])),
                 "bytes": memory_context.list_bytes(mean_stored, s)},
        "hold_last_chord": {"acc_exact": float(np.mean(held[hidden] == notes[hidden])),
                            "bytes": 0}}
    stored_recall[name] = dict(run(itself), bytes=memory_bytes,
                               ceiling=recall_ceiling(notes, masks, stored, valid))
  return {"context": context, "stored": stored_recall, "windows": int(len(rows)),
          "mean_stored_windows": mean_stored, "memory_rows": memory.num_rows}
