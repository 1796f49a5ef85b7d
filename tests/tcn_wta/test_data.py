"""tcn_wta.datasets.data: conversion, its cache and its errors."""

import os

import numpy as np
import pytest

from tcn_wta.datasets import data
from tcn_wta.datasets import groove
from tests.conftest import tiny_groove_config
from tests.conftest import write_fake_groove
from tests.tcn_wta import made_up


def test_corrupt_midi_is_skipped_and_logged_and_cache_is_reused(tmp_path, caplog, monkeypatch):
  write_fake_groove(tmp_path / "groove")
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache")
  with caplog.at_level("WARNING"):
    splits, channels = data.load_dataset(config.data)
  assert "4_rock_100_beat_4-4.mid" in caplog.text
  assert channels == 27
  assert {s: len(p) for s, p in splits.items()} == {"train": 2, "validation": 1, "test": 1}
  assert list(splits["train"].labels["style"]) == ["rock", "rock"]
  # The same, unchanged folder reuses the cache: nothing is converted again.
  def no_conversion(*args):
    raise AssertionError(f"converted again: {args}")
  monkeypatch.setattr(groove, "load_file", no_conversion)
  again, _ = data.load_dataset(config.data)
  monkeypatch.undo()
  np.testing.assert_array_equal(again["train"].data, splits["train"].data)
  # A changed folder is another source: it is converted anew (here it has lost its metadata).
  os.remove(tmp_path / "groove" / "info.csv")
  with pytest.raises(FileNotFoundError, match="no Groove MIDI Dataset here"):
    data.load_dataset(config.data)


def test_missing_groove_says_where_to_get_it(tmp_path):
  config = tiny_groove_config(tmp_path / "nowhere", tmp_path / "cache")
  with pytest.raises(FileNotFoundError, match="groove-v1.0.0-midionly.zip"):
    data.load_dataset(config.data)


def test_parallel_conversion_equals_serial_and_skips_bad_files(tmp_path, caplog):
  import functools  # pylint: disable=import-outside-toplevel
  from music_runtime.files import dataset_cache
  from tcn_wta.datasets import maestro  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(4)
  rows = []
  for i in range(3):
    made_up.write_piano_midi(tmp_path / f"{i}.midi", rng)
    rows.append({"midi_filename": f"{i}.midi", "split": "train", "canonical_composer": "X",
                 "canonical_title": f"Piece {i}", "year": "2004"})
  (tmp_path / "bad.midi").write_bytes(b"\x00garbage")
  rows.insert(1, dict(rows[0], midi_filename="bad.midi"))
  load = functools.partial(maestro.load_file, str(tmp_path), "events", 16)
  with caplog.at_level("WARNING"):
    serial, skipped = dataset_cache.convert(rows, load, lambda r: r["midi_filename"])
  assert skipped == 1 and "bad.midi" in caplog.text
  parallel, _ = dataset_cache.convert(rows, load, lambda r: r["midi_filename"], workers=2)
  assert len(serial) == len(parallel) == 3
  for a, b in zip(serial, parallel):
    np.testing.assert_array_equal(a.array, b.array)


def test_dataset_cache_is_keyed_by_the_source_folders_content(tmp_path):
  import shutil  # pylint: disable=import-outside-toplevel
  from tcn_wta.datasets import data as tcn_data  # pylint: disable=import-outside-toplevel
  for name, text in (("a", "x\n"), ("b", "y\n")):
    (tmp_path / name).mkdir()
    (tmp_path / name / "info.csv").write_text(text)
  first = tcn_data.source_fingerprint(str(tmp_path / "a"))
  assert first == tcn_data.source_fingerprint(str(tmp_path / "a"))
  assert first != tcn_data.source_fingerprint(str(tmp_path / "b"))  # another dataset
  # A restored copy (new path, new modification times, same files) keeps its cache.
  shutil.copytree(tmp_path / "a", tmp_path / "restored")
  os.utime(tmp_path / "restored" / "info.csv", (1, 1))
  assert tcn_data.source_fingerprint(str(tmp_path / "restored")) == first
  (tmp_path / "a" / "info.csv").write_text("z\n")                  # same size, new bytes
  assert first != tcn_data.source_fingerprint(str(tmp_path / "a"))
  (tmp_path / "restored" / "extra.mid").write_bytes(b"MThd")
  assert first != tcn_data.source_fingerprint(str(tmp_path / "restored"))  # a file added
  assert tcn_data.source_fingerprint(str(tmp_path / "missing")) == "missing"
