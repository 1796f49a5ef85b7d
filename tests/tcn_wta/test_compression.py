"""tcn_wta.applications.compression: the lossless grid's bytes."""

import numpy as np
import pytest

from tcn_wta.applications import compression
from tests.tcn_wta import made_up


def test_lossless_grid_bytes():
  drums = np.zeros((1, 16, 9), bool)
  assert compression.bitmap_bytes(drums)[0] == 18          # one 4/4 bar of 16ths
  roll = np.zeros((1, 64, 88), bool)
  roll[0, 2:6, 40] = True
  roll[0, 10:11, 40] = True
  # Row count (7 bits), one played row: id (7) + runs (7), two runs of (start, length) at 7 bits.
  assert compression.run_length_bytes(roll)[0] == np.ceil((7 + 7 + 7 + 2 * 2 * 7) / 8)
  assert compression.lossless_bytes(roll)[0] == compression.run_length_bytes(roll)[0]
  curve = compression.row_subset_curve(made_up.grid())
  assert [p["rows"] for p in curve] == [1, 2] and curve[-1]["f1"] == 1.0
  assert curve[0]["f1"] == pytest.approx(2 * 4 / (4 + 6))
  points = [{"f1": 0.5, "bytes_per_window": 10.0}, {"f1": 1.0, "bytes_per_window": 20.0}]
  assert compression.bytes_at_quality(points, 0.75) == pytest.approx(15.0)
  assert compression.bytes_at_quality(points, 0.2) == 10.0
  assert compression.bytes_at_quality(points[:1], 0.75) is None
