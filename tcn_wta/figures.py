"""Figures of the TCN k-WTA report: rolls, the top-N curve and the style maps (PNG)."""

import collections

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

MAX_COLOURED_CLASSES = 10


def save_rolls(path, panels, title, ylabel):
  """One image row per (name, [steps, rows]) panel, time left to right."""
  fig, axes = plt.subplots(len(panels), 1, figsize=(10, 1.6 * len(panels)), squeeze=False)
  for ax, (name, roll) in zip(axes[:, 0], panels):
    ax.imshow(np.asarray(roll).T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_title(name, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def save_top_n_curve(path, ns, quality, metric, code_bytes, midi_bytes, unit):
  """Quality and sparse-code size against N, with the raw MIDI size for reference."""
  fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
  left.plot(ns, quality, "o-")
  left.set_xscale("log", base=2)
  left.set_xlabel("N (code entries kept per window)")
  left.set_ylabel(metric)
  left.set_title("Quality when keeping the top N entries")
  right.plot(ns, code_bytes, "o-", label="sparse code")
  right.axhline(midi_bytes, color="C3", ls="--", label="raw MIDI file")
  right.set_xscale("log", base=2)
  right.set_yscale("log")
  right.set_xlabel("N")
  right.set_ylabel(f"bytes per {unit}")
  right.legend(fontsize=8)
  right.set_title("Size")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


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
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
