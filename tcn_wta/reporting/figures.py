"""Figures of the TCN k-WTA report (PNG): rolls, the top-N curve, style maps, the training curve,
the dictionary's atoms and the ablations."""

import collections

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

MAX_COLOURED_CLASSES = 10


def _save(fig, path):
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


DRUM_NAMES = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom", "mid tom", "high tom",
              "crash", "ride")  # groove.DRUM_CLASSES, in order
LOWEST_KEY = 21  # row 0 of an 88-key roll is A0


def label_rows(ax, ylabel, num_rows):
  """Names a roll's rows: drum classes by name, piano keys by their Cs (note name and MIDI)."""
  ax.set_ylabel(ylabel, fontsize=8)
  if ylabel == "drum class" and num_rows == len(DRUM_NAMES):
    ax.set_yticks(range(num_rows))
    ax.set_yticklabels(DRUM_NAMES, fontsize=6)
  elif ylabel == "key" and num_rows == 88:
    rows = [r for r in range(num_rows) if (r + LOWEST_KEY) % 12 == 0]
    ax.set_yticks(rows)
    ax.set_yticklabels([f"C{(r + LOWEST_KEY) // 12 - 1} ({r + LOWEST_KEY})" for r in rows],
                       fontsize=6)


def save_rolls(path, panels, title, ylabel, xlabel="16th-note step"):
  """One image row per (name, [steps, rows]) panel, time left to right."""
  fig, axes = plt.subplots(len(panels), 1, figsize=(10, 1.6 * len(panels)), squeeze=False)
  for ax, (name, roll) in zip(axes[:, 0], panels):
    roll = np.asarray(roll)
    ax.imshow(roll.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_title(name, fontsize=9)
    label_rows(ax, ylabel, roll.shape[1])
    ax.tick_params(axis="x", labelsize=7)
  axes[-1, 0].set_xlabel(xlabel, fontsize=8)
  fig.suptitle(title)
  _save(fig, path)


def save_top_n_curve(path, top, metric):
  """Quality against N for both top-N simplifications, and quality against bytes beside the
  lossless grid, the lossy grid baseline and the MIDI file (report.json's top_n)."""
  fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
  atoms = top["atoms"]
  left.plot(top["n"], [q[metric] for q in top["quality"]], "o-", label="N largest entries")
  left.plot(atoms["n"], [q[metric] for q in atoms["quality"]], "s-", label="N most used atoms")
  left.set_xscale("log", base=2)
  left.set_xlabel("N")
  left.set_ylabel(metric)
  left.set_title("Quality of the simplified code", fontsize=10)
  left.legend(fontsize=8)
  right.plot(top["code_bytes_per_unit"], [q[metric] for q in top["quality"]], "o-",
             label="code, N largest entries")
  right.plot(atoms["code_bytes_per_unit"], [q[metric] for q in atoms["quality"]], "s-",
             label="code, N most used atoms")
  if top.get("grid_baseline"):
    right.plot([p["bytes_per_unit"] for p in top["grid_baseline"]],
               [p["f1"] for p in top["grid_baseline"]], "^-", color="C2",
               label="grid of the m most played rows")
  right.axvline(top["lossless_bytes_per_unit"], color="C4", ls="--", label="lossless grid")
  right.axvline(top["midi_bytes_per_unit"], color="C3", ls=":", label="MIDI file")
  right.set_xscale("log")
  right.set_xlabel(f"bytes per {top['unit']}")
  right.set_ylabel(metric)
  right.set_title("Quality against size", fontsize=10)
  right.legend(fontsize=7)
  _save(fig, path)


def save_style_map(path, maps, labels, title):
  """Scatter of 2-D maps {panel name: [pieces, 2]} coloured by label (the commonest classes;
  the rest grey)."""
  labels = np.asarray(labels)
  common = [c for c, _ in collections.Counter(labels.tolist()).most_common(MAX_COLOURED_CLASSES)]
  fig, axes = plt.subplots(1, len(maps), figsize=(5.5 * len(maps), 4.5), squeeze=False)
  for ax, (name, xy) in zip(axes[0], maps.items()):
    others = ~np.isin(labels, common)
    ax.scatter(xy[others, 0], xy[others, 1], s=8, c="0.8", label="other")
    for i, c in enumerate(common):
      chosen = labels == c
      ax.scatter(xy[chosen, 0], xy[chosen, 1], s=10, color=plt.cm.tab10(i), label=str(c))
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
  axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
  fig.suptitle(title)
  _save(fig, path)


def save_ablations(path, results, ks):
  """The sparsity-fidelity trade-off: quality on clean and noisy windows against k for plain
  and denoising models, and (grids) the spurious notes each silences."""
  runs = results["runs"]
  metric = results["metric"]
  grid = all("added silenced" in runs.get(f"k{k}", {}) for k in ks)
  fig, axes = plt.subplots(1, 2 if grid else 1, figsize=(11 if grid else 5.5, 3.8),
                           squeeze=False)
  left = axes[0, 0]
  for suffix, label, colour in (("", "plain", "C0"), ("_denoising", "denoising", "C1")):
    chosen = [k for k in ks if f"k{k}{suffix}" in runs]
    left.plot(chosen, [runs[f"k{k}{suffix}"]["clean"] for k in chosen], "o-", color=colour,
              label=f"{label}: clean input")
    left.plot(chosen, [runs[f"k{k}{suffix}"]["noisy output"] for k in chosen], "s--",
              color=colour, label=f"{label}: noisy input")
  first = runs[f"k{ks[0]}"]
  left.axhline(first["noisy input"], color="C3", ls=":", label="the noisy input itself")
  if "bar-repetition filter" in first:
    left.axhline(first["bar-repetition filter"], color="C2", ls=":", label="bar-repetition filter")
  noise = results["noise"]
  left.set_xscale("log", base=2)
  left.set_xlabel("k (winners per code step)")
  left.set_ylabel(f"held-out {metric}")
  left.set_title(f"Noise: {round(100 * noise['drop'])}% removed, "
                 f"{round(100 * noise['add'])}% added",
                 fontsize=10)
  left.legend(fontsize=7)
  if grid:
    right = axes[0, 1]
    for suffix, label, colour in (("", "plain", "C0"), ("_denoising", "denoising", "C1")):
      chosen = [k for k in ks if f"k{k}{suffix}" in runs]
      xs = [runs[f"k{k}{suffix}"]["clean"] for k in chosen]
      ys = [runs[f"k{k}{suffix}"]["added silenced"] for k in chosen]
      right.plot(xs, ys, "o-", color=colour, label=label)
      for k, x, y in zip(chosen, xs, ys):
        right.annotate(f"k={k}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    right.set_xlabel(f"{metric} on clean input (fidelity)")
    right.set_ylabel("spurious notes silenced")
    right.set_title("Sparsity-fidelity trade-off", fontsize=10)
    right.legend(fontsize=8)
  _save(fig, path)


def save_training_curve(path, loss, k, title):
  """Training loss and k against the step (the paper's loss-vs-k curve): [(step, value)]."""
  fig, left = plt.subplots(figsize=(7, 3.5))
  left.plot(*zip(*loss), "-", color="C0")
  left.set_xlabel("step")
  left.set_ylabel("training loss", color="C0")
  left.set_yscale("log")
  if k:
    right = left.twinx()
    right.step(*zip(*k), where="post", color="C1")
    right.set_ylabel("k", color="C1")
  left.set_title(title, fontsize=10)
  _save(fig, path)


def save_atoms(path, atoms, usage, ylabel, columns=8):
  """The most used atoms of the dictionary [n, P, rows] (time left to right), titled by usage."""
  rows = -(-len(atoms) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.6 * rows), squeeze=False)
  for ax in axes.ravel():
    ax.axis("off")
  for ax, atom, share in zip(axes.ravel(), atoms, usage):
    limit = max(float(np.abs(atom).max()), 1e-9)
    ax.imshow(np.asarray(atom).T, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-limit,
              vmax=limit, interpolation="nearest")
    ax.set_title(f"{100 * share:.1f}%", fontsize=7)
  fig.suptitle(f"Most used atoms (share of code entries); each: step within the atom (x) by "
               f"{ylabel} (y)", fontsize=9)
  _save(fig, path)
