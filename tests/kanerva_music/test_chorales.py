"""kanerva_music.data.chorales: the JSB chorales file, its sources and its validation."""

import os

import ml_collections
import numpy as np
import pytest

from kanerva_music.data import chorales
from kanerva_music.data import episodes
from tests.conftest import random_splits, write_object_npz

SHARED_JSB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                          "jsb_chorales", "Jsb16thSeparated.npz")


def data_config(**overrides):
  config = ml_collections.ConfigDict(dict(path="", data_dir="", download=False,
                                          music21_fallback=False))
  config.update(overrides)
  return config


@pytest.mark.skipif(not os.path.exists(SHARED_JSB), reason="needs ../shared/data")
def test_real_jsb_file_loads_with_paper_split_sizes():
  splits, source = chorales.load_chorales(data_config(path=SHARED_JSB))
  assert {s: len(v) for s, v in splits.items()} == {"train": 229, "valid": 76, "test": 77}
  assert "config.data.path" in source.description and source.kind == "jsb_file"
  pitches = np.concatenate([c for v in splits.values() for c in v])
  assert np.nanmin(pitches) == 36 and np.nanmax(pitches) == 81


def test_missing_file_says_where_to_get_it(tmp_path):
  with pytest.raises(chorales.ChoraleDataError, match="czhuang/JSB-Chorales-dataset"):
    chorales.load_chorales(data_config(path=str(tmp_path / "nope.npz")))
  with pytest.raises(chorales.ChoraleDataError, match="KANERVA_MUSIC_DATA"):
    chorales.load_chorales(data_config(data_dir=str(tmp_path)))


def test_wrong_shapes_are_named(tmp_path):
  rng = np.random.default_rng(1)
  splits = random_splits(rng)
  splits["valid"][1] = np.zeros((30, 3), np.float16)
  path = tmp_path / "three_voices.npz"
  write_object_npz(path, splits)
  with pytest.raises(chorales.ChoraleDataError, match=r"three_voices\.npz: valid\[1\] has shape "
                     r"\(30, 3\); expected \(T, 4\)"):
    chorales.load_npz_chorales(str(path))


def test_missing_split_and_garbage_file(tmp_path):
  path = tmp_path / "no_test.npz"
  write_object_npz(path, {"train": [np.zeros((40, 4))], "valid": [np.zeros((40, 4))]})
  with pytest.raises(chorales.ChoraleDataError, match=r"missing split\(s\) \['test'\]"):
    chorales.load_npz_chorales(str(path))
  garbage = tmp_path / "garbage.npz"
  garbage.write_bytes(b"not a zip file")
  with pytest.raises(chorales.ChoraleDataError, match="garbage.npz: not a readable .npz"):
    chorales.load_npz_chorales(str(garbage))


def test_data_dir_is_used_before_fallbacks(tmp_path, monkeypatch):
  write_object_npz(tmp_path / chorales.FILENAME, random_splits(np.random.default_rng(2)))
  monkeypatch.setenv("KANERVA_MUSIC_DATA", str(tmp_path))
  splits, source = chorales.load_chorales(data_config())
  assert source.description.startswith("data directory") and len(splits["train"]) == 3


def test_infinite_pitches_and_splits_without_a_window_are_named(tmp_path):
  bad = {s: [np.full((20, 4), 60.0)] for s in chorales.SPLITS}
  bad["test"] = [np.array([[60.0, np.inf, 55.0, 48.0]] * 20)]
  with pytest.raises(chorales.ChoraleDataError, match=r"test\[0\] holds infinite values"):
    chorales.validate_splits(bad, "x.npz")
  all_rests = [np.full((40, 4), np.nan)]
  with pytest.raises(episodes.EpisodeDataError, match="config.data.episode_steps = 8 steps "
                                                      "without a rest"):
    episodes.make_pool(all_rests, 8, name="train")
  with pytest.raises(episodes.EpisodeDataError, match=r"episode_steps = 1000 .*longest chorale "
                                                      "has 20 steps"):
    episodes.make_pool([np.full((20, 4), 60.0)], 1000, name="train")
