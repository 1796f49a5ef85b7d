"""Sections shared by the TCN k-WTA configs: `analysis` (`--mode=analyze`), `train` (denoising)
and `ablation` (`--mode=ablate`)."""

import ml_collections


def analysis_config(probe_labels, style_labels, group_label="", style_order=()):
  """Settings of the applications; the labels are the dataset's piece labels to detect / map."""
  analysis = ml_collections.ConfigDict()
  analysis.seed = 0
  analysis.corrupt_drop = 0.2     # fraction of played cells removed (events: replaced)
  analysis.corrupt_add = 0.2      # spurious cells added, as a fraction of played cells
  analysis.max_windows_per_piece = 16
  analysis.max_windows = 1024     # test windows for cleaning and top N (evenly spaced subset)
  analysis.midi_size_windows = 128
  analysis.bank_windows = 2048    # training windows whose codes generation samples
  analysis.generated_windows = 64  # windows per generator in the generators' comparison
  analysis.folds = 5
  analysis.probe_labels = tuple(probe_labels)
  analysis.style_labels = tuple(style_labels)
  # Pieces sharing this label stay on one side of every cross-validation fold ("" = none).
  analysis.group_label = group_label
  # Classes of the first style label in an order to test (section 3.7): the middle one should
  # lie between the others (the first-last centroid distance the largest). () = none.
  analysis.style_order = tuple(style_order)
  return analysis


def train_config():
  """Beyond the paper: drop / add > 0 trains a denoising autoencoder (the encoder sees the window
  with that fraction of its notes removed / spurious ones added; the target is the clean window)."""
  train = ml_collections.ConfigDict()
  train.corruption = ml_collections.ConfigDict()
  train.corruption.drop = 0.0
  train.corruption.add = 0.0
  return train


def ablation_config(ks, phase_ks=()):
  """`--mode=ablate`: models trained beside the main one (under workdir/ablations/): plain and
  denoising at every final k in `ks` (the sparsity-fidelity trade-off), and windows starting at
  any step instead of on the beat at every k in `phase_ks` (the beat-alignment prior)."""
  ablation = ml_collections.ConfigDict()
  ablation.ks = tuple(ks)
  ablation.phase_ks = tuple(phase_ks)
  ablation.corrupt_drop = 0.2     # the denoising models' training noise, and the measured noise
  ablation.corrupt_add = 0.2
  return ablation
