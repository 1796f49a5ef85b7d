"""Cleaning ("de-noising musical ideas"), measured fairly (docs/tcn_wta.md, "Applications", 1).

The paper's claim is that a small shift-invariant dictionary keeps what recurs and drops what
does not. On grids (drums, piano rolls) every measurement here is on cells: a cell is played when
its score is > 0.5 (the hit channel for drums, the velocity for rolls), F1 is pooled over all
windows (float64), and each noise condition (notes added only, removed only, both) is scored for
- the corrupted input itself, the model's output, and the input edited by the model (delete the
  input's notes the model scores below `low`, add silent cells it scores above `high`; both
  thresholds chosen on validation windows), against
- the non-learned bar-repetition filter: keep an input note when the same cell (position in the
  bar, row) is played in >= 2 of the window's bars;
and the model's scores separate true from added notes (AUROC) and removed from silent cells.
On clean input it states which notes the dictionary keeps: those recurring in >= 2 of the
window's bars vs one-off ones, loud vs soft ones. Event tokens (no cells): 10% and 20% of the
tokens replaced by random ones; accuracy of the corrupted input, the output and the input edited
by the model (tokens it supports least replaced by its own), and the AUROC of its support for
true vs replaced tokens.
"""

import jax
import numpy as np
from sklearn import metrics as sk_metrics

from music_runtime.training import batching
from tcn_wta.datasets import representations

# (name, fraction removed, fraction added): the noise conditions of the report.
CONDITIONS = (("added 10%", 0.0, 0.1), ("added 20%", 0.0, 0.2), ("removed 10%", 0.1, 0.0),
              ("removed 20%", 0.2, 0.0), ("both 10%", 0.1, 0.1), ("both 20%", 0.2, 0.2))
# Editing thresholds searched on validation; 0 deletes nothing, > 1 adds nothing.
LOW_THRESHOLDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
HIGH_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)
MIN_BARS = 2


def supported(rep):
  """Cell-level cleaning needs a grid (drums or rolls); event tokens have no cells."""
  return rep.cell_scores is not None


def pooled_f1(predicted, actual):
  """F1 of boolean arrays pooled over every cell (1.0 when both are empty), in float64."""
  tp = float(np.sum(predicted & actual))
  denominator = float(np.sum(predicted)) + float(np.sum(actual))
  return 2 * tp / denominator if denominator else 1.0


def bar_counts(played, steps_per_bar):
  """For every cell of [W, L, R], in how many of its window's bars the same (position in the
  bar, row) cell is played."""
  w, length, rows = played.shape
  bars = played.reshape(w, length // steps_per_bar, steps_per_bar, rows)
  counts = bars.sum(axis=1, keepdims=True)
  return np.broadcast_to(counts, bars.shape).reshape(played.shape)


def bar_repetition_filter(played, steps_per_bar, min_bars=MIN_BARS):
  """The non-learned baseline: the played cells that recur in >= min_bars of the window's bars."""
  return played & (bar_counts(played, steps_per_bar) >= min_bars)


def edit(played, scores, low, high):
  """The input edited by the model: its notes scored < low deleted (none when low <= 0, though
  an MSE output can score below 0), silent cells scored > high added."""
  deleted = scores < low if low > 0 else np.zeros_like(played)
  return (played & ~deleted) | (~played & (scores > high))


def auroc(positive_scores, negative_scores):
  """Area under the ROC curve of scores separating the two sets (None if one is empty)."""
  if not len(positive_scores) or not len(negative_scores):
    return None
  labels = np.concatenate([np.ones(len(positive_scores)), np.zeros(len(negative_scores))])
  return float(sk_metrics.roc_auc_score(labels, np.concatenate([positive_scores,
                                                                negative_scores])))


def recall(scores, cells):
  """Fraction of the given cells the output plays (None if there are none)."""
  return float(np.mean(scores[cells] > 0.5)) if cells.any() else None


def played_cells(rep, arrays):
  """[..., steps, rows] boolean: the cells of windows (or outputs) that play a note."""
  return np.asarray(rep.cell_scores(np.asarray(arrays))) > 0.5


def _model_reader(trained, rep, batch, read):
  """windows -> read(model output, windows) as NumPy, in jitted batches."""
  net, params, k = trained.net, trained.params, trained.k

  @jax.jit
  def apply(windows):
    output, _ = net.apply({"params": params}, rep.to_inputs(windows, net.channels), k)
    return read(output, windows)

  return lambda windows: jax.tree_util.tree_map(
      np.asarray, batching.map_in_batches(apply, (windows,), batch))


def make_scorer(trained, rep, batch):
  """windows [W, L, C] -> the model's cell scores [W, L, R] (NumPy), computed in batches."""
  return _model_reader(trained, rep, batch, lambda output, windows: rep.cell_scores(output))


def best_thresholds(played, scores, clean):
  """(low, high, F1) of the editing thresholds with the best F1 (the first on ties)."""
  best = (0.0, 1.01, -1.0)
  for low in LOW_THRESHOLDS:
    for high in HIGH_THRESHOLDS:
      value = pooled_f1(edit(played, scores, low, high), clean)
      if value > best[2]:
        best = (low, high, value)
  return best


def condition_scores(played, scores, clean, steps_per_bar, thresholds):
  """Every row of one noise condition on one split (played: the corrupted input's cells)."""
  added, kept = played & ~clean, played & clean
  removed, silent = ~played & clean, ~played & ~clean
  out = {"corrupted input": pooled_f1(played, clean),
         "model output": pooled_f1(scores > 0.5, clean),
         "model-guided edit": pooled_f1(edit(played, scores, *thresholds), clean),
         "auroc true vs added": auroc(scores[kept], scores[added]),
         "auroc removed vs silent": auroc(scores[removed], scores[silent]),
         "added silenced": None if not added.any() else float(np.mean(scores[added] <= 0.5)),
         "removed restored": recall(scores, removed)}
  if steps_per_bar:
    out["bar-repetition filter"] = pooled_f1(bar_repetition_filter(played, steps_per_bar), clean)
  return out


def clean_breakdown(clean_scores, clean, velocities, steps_per_bar):
  """Recall of the clean input's notes by kind: recurring vs one-off in the window's bars, loud vs
  soft (at least / below the median velocity of all notes)."""
  out = {"recall": recall(clean_scores, clean)}
  if steps_per_bar:
    recurring = clean & (bar_counts(clean, steps_per_bar) >= MIN_BARS)
    out.update({"recall recurring": recall(clean_scores, recurring),
                "recall one-off": recall(clean_scores, clean & ~recurring),
                "recurring share": float(recurring.sum() / max(clean.sum(), 1))})
  if clean.any():
    median = float(np.median(velocities[clean]))
    out.update({"recall loud": recall(clean_scores, clean & (velocities >= median)),
                "recall soft": recall(clean_scores, clean & (velocities < median)),
                "median velocity": median})
  return out


# Token noise conditions: (name, fraction of tokens replaced by random ones).
TOKEN_CONDITIONS = (("replaced 10%", 0.1), ("replaced 20%", 0.2))


def make_token_scorer(trained, rep, batch):
  """windows [W, L] token ids -> (the output's support of each input token, its own tokens)."""
  return _model_reader(trained, rep, batch, rep.token_scores)


def token_edit(tokens, support, predicted, low):
  """The input with every token the model supports less than `low` replaced by its own."""
  return np.where(support < low, predicted, tokens)


def measure_tokens(config, trained, test_windows, validation_windows, batch):
  """Cleaning of event tokens: accuracy of the corrupted input, the model's output and the
  input edited by the model (threshold chosen on validation), and the AUROC of the model's
  support for true vs replaced tokens."""
  rep = representations.of(config.data)
  score = make_token_scorer(trained, rep, batch)
  conditions = {}
  for i, (name, drop) in enumerate(TOKEN_CONDITIONS):
    corrupted_validation = representations.corrupt(validation_windows, rep,
                                                   config.analysis.seed + 1000 + i, drop, 0.0,
                                                   channels=trained.net.channels)
    support, predicted = score(corrupted_validation)
    lows = np.quantile(support, np.linspace(0, 0.5, 26))   # delete up to half of the tokens
    accuracy = [np.mean(token_edit(corrupted_validation, support, predicted, low)
                        == validation_windows) for low in lows]
    low = float(lows[int(np.argmax(accuracy))])
    corrupted = representations.corrupt(test_windows, rep, config.analysis.seed + i, drop, 0.0,
                                        channels=trained.net.channels)
    support, predicted = score(corrupted)
    replaced = corrupted != test_windows
    conditions[name] = {
        "drop": drop, "add": 0.0,
        "thresholds": {"low": low, "validation_accuracy": float(np.max(accuracy))},
        "corrupted input": float(np.mean(corrupted == test_windows)),
        "model output": float(np.mean(predicted == test_windows)),
        "model-guided edit": float(np.mean(token_edit(corrupted, support, predicted, low)
                                           == test_windows)),
        "auroc true vs replaced": auroc(support[~replaced], support[replaced]),
        "replaced restored": None if not replaced.any() else float(
            np.mean(predicted[replaced] == test_windows[replaced])),
    }
  return {"conditions": conditions, "tokens": True, "test_windows": len(test_windows),
          "validation_windows": len(validation_windows)}


def steps_per_bar_of(config):
  """Steps per bar when windows hold whole bars of a fixed grid, else 0 (no bar filter)."""
  steps = int(config.generate.get("steps_per_bar", 0) or 0)
  return steps if steps and config.data.window % steps == 0 and \
      config.data.window // steps >= MIN_BARS else 0


def measure(config, trained, test_windows, validation_windows, batch):
  """The cleaning section of report.json: on cells for grids, on tokens for events."""
  rep = representations.of(config.data)
  if rep.token_scores is not None:
    return measure_tokens(config, trained, test_windows, validation_windows, batch)
  if not supported(rep):
    return None
  score = make_scorer(trained, rep, batch)
  steps_per_bar = steps_per_bar_of(config)
  played_of = lambda windows: played_cells(rep, windows)
  clean_test = played_of(test_windows)
  clean_validation = played_of(validation_windows)
  seed = config.analysis.seed
  conditions = {}
  for i, (name, drop, add) in enumerate(CONDITIONS):
    corrupted_validation = representations.corrupt(validation_windows, rep, seed + 1000 + i,
                                                   drop, add, channels=trained.net.channels)
    low, high, validation_f1 = best_thresholds(played_of(corrupted_validation),
                                               score(corrupted_validation), clean_validation)
    corrupted = representations.corrupt(test_windows, rep, seed + i, drop, add,
                                        channels=trained.net.channels)
    conditions[name] = {
        "drop": drop, "add": add, "thresholds": {"low": low, "high": high,
                                                 "validation_f1": validation_f1},
        **condition_scores(played_of(corrupted), score(corrupted), clean_test, steps_per_bar,
                           (low, high))}
  return {"conditions": conditions,
          "clean": clean_breakdown(score(test_windows), clean_test,
                                   np.asarray(rep.cell_velocities(np.asarray(test_windows))),
                                   steps_per_bar),
          "steps_per_bar": steps_per_bar, "min_bars": MIN_BARS,
          "test_windows": len(test_windows), "validation_windows": len(validation_windows)}
