"""The `analysis` section shared by the TCN k-WTA configs (`--mode=analyze`)."""

import ml_collections


def analysis_config(probe_labels, style_labels, group_label=""):
  """Settings of the applications; the labels are the dataset's piece labels to detect / map."""
  analysis = ml_collections.ConfigDict()
  analysis.seed = 0
  analysis.corrupt_drop = 0.2     # fraction of played cells removed (events: replaced)
  analysis.corrupt_add = 0.2      # spurious cells added, as a fraction of played cells
  analysis.max_windows_per_piece = 16
  analysis.midi_size_windows = 128
  analysis.bank_windows = 2048    # training windows whose codes generation samples
  analysis.folds = 5
  analysis.probe_labels = tuple(probe_labels)
  analysis.style_labels = tuple(style_labels)
  # Pieces sharing this label stay on one side of every cross-validation fold ("" = none).
  analysis.group_label = group_label
  return analysis
