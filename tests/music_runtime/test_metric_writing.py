"""music_runtime.files.metric_writing: scalars written are read back."""

import os

import pytest

from music_runtime.files import metric_writing


def test_scalars_written_are_read_back(tmp_path):
  writer = metric_writing.MetricWriter(str(tmp_path), enabled=True)
  for step in (1, 2, 3):
    writer.write_scalars(step, {"train/loss": 1.0 / step, "k": 4 - step})
  writer.close()
  scalars = metric_writing.read_scalars(str(tmp_path))
  assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3]
  assert scalars["train/loss"][1][1] == pytest.approx(0.5) and scalars["k"][2] == (3, 1.0)
  # A record cut short by a kill ends the reading of its file; the rest is kept.
  path = next(p for p in os.listdir(tmp_path) if p.startswith("events.out"))
  content = open(tmp_path / path, "rb").read()
  open(tmp_path / path, "wb").write(content[:-5])
  assert metric_writing.read_scalars(str(tmp_path))["train/loss"][:2] == scalars["train/loss"][:2]
