"""music_runtime.files.dataset_cache: a damaged cache is named, moved aside and rebuilt."""

import numpy as np
import pytest

from music_runtime.files import dataset_cache


def _build(calls):
  def build():
    calls.append(1)
    pieces = [dataset_cache.Piece(np.arange(6, dtype=np.float32).reshape(3, 2) + i, split,
                                  {"style": f"s{i}"})
              for i, split in enumerate(("train", "train", "test"))]
    return pieces, 0
  return build


def test_a_truncated_cache_is_moved_aside_and_rebuilt(tmp_path, caplog):
  path = str(tmp_path / "data.npz")
  calls = []
  first = dataset_cache.cached(path, _build(calls))
  assert calls == [1] and len(first["train"]) == 2
  dataset_cache.cached(path, _build(calls))
  assert calls == [1]  # read back, not rebuilt
  data = open(path, "rb").read()
  open(path, "wb").write(data[:len(data) // 2])
  again = dataset_cache.cached(path, _build(calls))
  assert calls == [1, 1]
  np.testing.assert_array_equal(again["train"].data, first["train"].data)
  assert (tmp_path / "data.npz.corrupt").exists()
  assert f"Cache {path} is unreadable" in caplog.text and "rebuilding it" in caplog.text


def test_no_readable_files_is_a_named_error():
  with pytest.raises(dataset_cache.DatasetError, match="no readable files to build it from "
                                                       "config.data.root = '/x'"):
    dataset_cache.cached("/nonexistent/cache.npz", lambda: ([], 3), "config.data.root = '/x'")
