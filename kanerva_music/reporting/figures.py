"""Piano-roll figures in the manner of the paper's figures 2-4."""

import matplotlib

matplotlib.use("Agg")
from matplotlib.collections import PolyCollection  # pylint: disable=g-import-not-at-top
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

VOICE_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
VOICE_NAMES = ("S", "A", "T", "B")
PITCH_TICKS = (36, 48, 60, 72)  # C2-C5: the chorales' range, MIDI 36-81


def draw_notes(ax, grid):
  """Draws [steps, 4] pitches (NaN = silent) as bars, one collection per voice: the rectangles
  `broken_barh` would draw one call per note, the same picture in a quarter of the time."""
  for voice in range(grid.shape[1]):
    steps = np.flatnonzero(np.isfinite(grid[:, voice]))
    if len(steps):
      low = grid[steps, voice] - 0.4
      high = low + 0.8
      ax.add_collection(PolyCollection(
          np.stack([np.stack([steps, low], -1), np.stack([steps, high], -1),
                    np.stack([steps + 1, high], -1), np.stack([steps + 1, low], -1)], 1),
          color=VOICE_COLORS[voice]))


def draw_roll(ax, grid, title="", masked_steps=None):
  """Draws [steps, 4] pitches (NaN = silent) as bars; shades masked steps."""
  grid = np.asarray(grid, np.float64)
  if masked_steps is not None and np.any(masked_steps):
    for s in np.flatnonzero(masked_steps):
      ax.axvspan(s, s + 1, color="0.9", lw=0)
  draw_notes(ax, grid)
  for bar in range(0, len(grid) + 1, 16):
    ax.axvline(bar, color="0.5", lw=0.6)
  ax.set_xlim(0, len(grid))
  ax.set_ylim(35, 83)
  ax.set_yticks(PITCH_TICKS)
  ax.set_yticklabels([f"C{p // 12 - 1}" for p in PITCH_TICKS])
  ax.set_title(title, fontsize=9)
  ax.tick_params(labelsize=7)


def save_rows(path, rows, suptitle=""):
  """rows: [(title, grid, masked_steps or None)], one panel per row."""
  fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.6 * len(rows)), sharex=True, squeeze=False)
  for ax, (title, grid, masked) in zip(axes[:, 0], rows):
    draw_roll(ax, grid, title, masked)
    ax.set_ylabel("pitch", fontsize=7)
  axes[-1, 0].set_xlabel("16th-note step")
  _legend(fig)
  fig.suptitle(suptitle, fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def save_grid(path, cells, column_titles, suptitle=""):
  """cells: [[(grid, masked_steps or None)] per column] per row."""
  num_rows, num_cols = len(cells), len(column_titles)
  fig, axes = plt.subplots(num_rows, num_cols, figsize=(3.2 * num_cols, 1.5 * num_rows),
                           squeeze=False, sharey=True)
  for r, row in enumerate(cells):
    for c, (grid, masked) in enumerate(row):
      draw_roll(axes[r, c], grid, column_titles[c] if r == 0 else "", masked)
    axes[r, 0].set_ylabel("pitch", fontsize=7)
  for ax in axes[-1]:
    ax.set_xlabel("16th-note step", fontsize=7)
  _legend(fig)
  fig.suptitle(suptitle, fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _legend(fig):
  handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in VOICE_COLORS]
  fig.legend(handles, VOICE_NAMES, loc="upper right", fontsize=7, ncol=4)


def save_capacity(path, panels, task="half"):
  """Exact accuracy vs stored episodes T (log scale), a line per read and K; one panel per
  setting. panels: [(title, {read: {K or "all": {T: {task: {"acc_exact": acc}}}}})]."""
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
  styles = {"lstsq": "-", "attention": "--", "readout": ":", "nearest_stored": "-.",
            "modern_hopfield": (0, (1, 1))}
  for ax, (title, curves) in zip(axes[0], panels):
    for read, by_rows in curves.items():
      if "@" in read:  # lower precisions: in the frontier figure
        continue
      for rows, by_size in by_rows.items():
        sizes = sorted(by_size, key=int)
        label = read if rows == "all" else f"{read}, K={rows}"
        ax.plot([int(t) for t in sizes], [100 * by_size[t][task]["acc_exact"] for t in sizes],
                linestyle=styles.get(read, "-"), marker="o", ms=3, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("stored episodes T")
    ax.set_ylabel(f"{task.replace('_', ' ')} masked: exact pitch (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.set_title(title)
  axes[0][-1].legend(fontsize=7, ncol=2, loc="lower left")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def pareto_front(points):
  """The points (bytes, recall) no other point beats with fewer or equal bytes, by bytes."""
  front, best = [], -1.0
  for num_bytes, recall in sorted(points, key=lambda p: (p[0], -p[1])):
    if recall > best:
      front.append((num_bytes, recall))
      best = recall
  return front


def save_frontier(path, frontier_section, storage_section, families=None):
  """Half-masked stored recall (exact) against bytes per stored episode (log scale): every
  method and T as a point, coloured by family (hollow: full-rank memories), and each family's
  Pareto front (the best recall at or under each byte count, full-rank memories left out)."""
  by_family = {}
  for method, by_size in frontier_section.items():
    family = (families or {}).get(method) or method.split("_K")[0]
    full_rank = storage_section[method]["full_rank"]
    for t, v in by_size.items():
      by_family.setdefault(family, []).append(
          (storage_section[method]["bytes_per_episode"][t], v["half"]["acc_exact"], full_rank))
  fig, ax = plt.subplots(figsize=(9, 5))
  colors = plt.get_cmap("tab10")
  for i, (family, points) in enumerate(sorted(by_family.items())):
    color = colors(i % 10)
    for num_bytes, recall, full_rank in points:
      ax.plot(num_bytes, 100 * recall, "o", ms=4, alpha=0.5, color=color,
              markerfacecolor="none" if full_rank else color)
    front = pareto_front([(b, r) for b, r, full in points if not full])
    if front:
      ax.step([b for b, _ in front], [100 * r for _, r in front], where="post", color=color,
              marker="s", ms=6, label=family)
  ax.set_xscale("log", base=2)
  ax.set_xlabel("bytes kept per stored episode")
  ax.set_ylabel("half masked, stored: exact pitch (%)")
  ax.set_ylim(0, 101)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
  ax.set_title("Recall against storage: every method and T (hollow: full rank), and each "
               "family's front", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
