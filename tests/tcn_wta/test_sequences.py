"""tcn_wta.datasets.sequences: model outputs as the notes they hold."""

import ml_collections
import numpy as np
import pytest

from tcn_wta.datasets import maestro
from tcn_wta.datasets import representations
from tcn_wta.datasets import sequences


def test_roll_and_event_outputs_become_the_notes_they_hold():
  roll = np.zeros((16, 88), np.float32)
  roll[2:6, 60 - 21] = 1.0
  roll[8:9, 64 - 21] = 1.0
  seq = sequences.roll_to_sequence(roll, 0.125)
  assert [(n.pitch, n.start_time, n.end_time) for n in seq.notes] == [(60, 0.25, 0.75),
                                                                       (64, 1.0, 1.125)]
  tokens = np.array([356 + 20, 60, 256 + 49, 128 + 60, 256 + 9])  # velocity, on, 0.5 s, off, 0.1 s
  logits = np.eye(388)[tokens] * 5.0
  config = ml_collections.ConfigDict({"representation": "events", "dataset": "maestro"})
  seq = representations.of(config).to_sequence(logits, config)
  assert [(n.pitch, n.start_time, n.end_time) for n in seq.notes] == [(60, 0.0, 0.5)]
  assert maestro.time_shift_seconds(tokens) == pytest.approx(0.6)
