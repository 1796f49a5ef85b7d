"""The paper's own generators, on codes of training windows (docs/tcn_wta.md, "Applications",
3-4, and "Addendum"), beside the Markov sampler, with the statistics that say whether their
output is new and music-like.

- interpolation: a training window's code and the code of the most similar other window (cosine
  similarity of the flattened codes, near-duplicates of itself excluded) are averaged, then cut
  back to the k strongest atoms per code step (the model's own sparsity);
- atom swap (the authors' `exchange_max_rows`): the window's most used atoms (half of those it
  uses) are taken out and the similar window's most used atoms, with their whole rows, put in;
- markov: `markov_codes.sample_code`, one window at a time.
Each generated window is decoded by the dictionary. Novelty: the fraction of its bars (with at
least one note) that are no near-copy of a bar of the training windows (cell F1 below
NEAR_COPY_F1 with every one; the copy rate is 1 - novelty);
statistics: notes per bar and the share of notes per row (drum class or key) against held-out
windows (total-variation distance).
"""

import numpy as np

from tcn_wta.applications import markov_codes

# Two windows whose codes are this similar are treated as the same material (overlapping
# windows of one piece), so interpolation does not average a window with itself.
NEAR_DUPLICATE = 0.999
# A generated bar whose cells match a training bar's with at least this F1 is a (near-)copy.
NEAR_COPY_F1 = 0.9


def dense_codes(bank):
  """[W, T, D] codes of the bank's windows."""
  windows, steps, _ = bank.atoms.shape
  codes = np.zeros((windows, steps, bank.num_atoms), np.float32)
  w, t = np.meshgrid(np.arange(windows), np.arange(steps), indexing="ij")
  codes[w[..., None], t[..., None], bank.atoms] = bank.values
  return codes


def most_similar(codes):
  """[W] index of each window's most similar other window by cosine similarity of its code."""
  flat = codes.reshape(len(codes), -1).astype(np.float64)
  flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
  similarity = flat @ flat.T
  similarity[similarity >= NEAR_DUPLICATE] = -np.inf   # itself and its near-copies
  return np.argmax(similarity, axis=1)


def keep_k_per_step(code, k):
  """The k largest-magnitude atoms of every code step [..., T, D]; the rest 0."""
  order = np.argsort(-np.abs(code), axis=-1, kind="stable")
  kept = np.zeros_like(code)
  np.put_along_axis(kept, order[..., :k], np.take_along_axis(code, order[..., :k], -1), -1)
  return kept


def interpolate(a, b, k, weight=0.5):
  """(1 - weight) a + weight b, cut back to k atoms per code step ([..., T, D] codes)."""
  return keep_k_per_step((1 - weight) * a + weight * b, k)


def _most_used(code, count):
  usage = np.sum(code != 0, axis=0) + np.abs(code).sum(axis=0) / (1 + np.abs(code).sum())
  return np.argsort(-usage, kind="stable")[:count]


def swap_atoms(a, b):
  """a with its most used atoms (half of those it uses, at least one) replaced by b's as many
  most used atoms, whole rows [T]."""
  used = max(1, int(np.sum(np.any(a != 0, axis=0))) // 2)
  out = a.copy()
  out[:, _most_used(a, used)] = 0.0
  donors = _most_used(b, used)
  out[:, donors] = b[:, donors]
  return out


def generate(bank, k, num_windows, rng):
  """{generator: [num_windows, T, D] codes}: interpolation, atom swap and the Markov sampler,
  each from the same randomly chosen training windows."""
  codes = dense_codes(bank)
  partner = most_similar(codes)
  chosen = rng.choice(len(codes), size=min(num_windows, len(codes)), replace=False)
  tables = markov_codes.transition_tables(bank)
  steps = codes.shape[1]
  return {
      "interpolation": interpolate(codes[chosen], codes[partner[chosen]], k),
      "atom swap": np.stack([swap_atoms(codes[i], codes[partner[i]]) for i in chosen]),
      "markov": np.stack([markov_codes.sample_code(bank, steps, rng, tables=tables)
                          for _ in chosen]),
  }


def bars_of(played, steps_per_bar):
  """[W, L, R] -> [bars, steps_per_bar, R]."""
  w, length, rows = played.shape
  return played.reshape(w * (length // steps_per_bar), steps_per_bar, rows)


def nearest_bar_f1(played, training_played, steps_per_bar):
  """For every bar with a note of `played`, the F1 of its cells against the closest bar of the
  training windows (1.0: a copy)."""
  bars = bars_of(played, steps_per_bar)
  bars = bars[bars.reshape(len(bars), -1).any(axis=1)].reshape(-1, bars[0].size).astype(
      np.float32)
  seen = bars_of(training_played, steps_per_bar).reshape(-1, bars.shape[1]).astype(np.float32)
  seen = np.unique(seen[seen.any(axis=1)], axis=0)
  best = np.zeros(len(bars))
  for first in range(0, len(seen), 4096):   # [bars, 4096] at a time
    block = seen[first:first + 4096]
    overlap = bars @ block.T
    f1 = 2 * overlap / (bars.sum(1, keepdims=True) + block.sum(1)[None, :])
    best = np.maximum(best, f1.max(axis=1))
  return best


def novelty(played, training_played, steps_per_bar):
  """(fraction of the bars with a note that are not near-copies of a training bar, i.e. F1
  below NEAR_COPY_F1 with every one of them; their mean nearest F1); (None, None) if no bar has
  a note."""
  nearest = nearest_bar_f1(played, training_played, steps_per_bar)
  if not len(nearest):
    return None, None
  return float(np.mean(nearest < NEAR_COPY_F1)), float(np.mean(nearest))


def note_statistics(played, steps_per_bar):
  """Notes per bar and the share of notes in every row."""
  bars = played.shape[0] * played.shape[1] / steps_per_bar
  per_row = played.sum(axis=(0, 1)).astype(np.float64)
  return {"notes_per_bar": float(played.sum() / bars),
          "row_share": (per_row / max(per_row.sum(), 1)).tolist()}


def compare(played, training_played, held_out_played, steps_per_bar):
  """Novelty and statistics of generated cells beside held-out ones."""
  stats, reference = (note_statistics(p, steps_per_bar) for p in (played, held_out_played))
  distance = 0.5 * float(np.abs(np.subtract(stats["row_share"], reference["row_share"])).sum())
  new, nearest = novelty(played, training_played, steps_per_bar)
  return {"novelty": new, "nearest_training_bar_f1": nearest,
          "notes_per_bar": stats["notes_per_bar"],
          "held_out_notes_per_bar": reference["notes_per_bar"],
          "row_share_distance": distance}
