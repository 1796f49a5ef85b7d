"""Chorale loading (safe unpickling, validation, sources) and episode sampling."""

import io
import os
import pickle
import zipfile

import jax
import ml_collections
import numpy as np
import pytest

from kanerva_music.data import chorales
from kanerva_music.data import episodes
from music_runtime.files import safe_npz
from tests.conftest import random_splits, write_object_npz

SHARED_JSB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                          "jsb_chorales", "Jsb16thSeparated.npz")


def data_config(**overrides):
  config = ml_collections.ConfigDict(dict(path="", data_dir="", download=False,
                                          music21_fallback=False))
  config.update(overrides)
  return config


class Exploit:
  marker = ""

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_rejected_without_running_code(tmp_path):
  marker = tmp_path / "pwned"
  Exploit.marker = str(marker)
  stream = io.BytesIO()
  np.lib.format.write_array_header_1_0(
      stream, {"descr": "|O", "fortran_order": False, "shape": (1,)})
  stream.write(pickle.dumps(Exploit(), protocol=2))
  path = tmp_path / "evil.npz"
  with zipfile.ZipFile(path, "w") as archive:
    for split in chorales.SPLITS:
      archive.writestr(f"{split}.npy", stream.getvalue())
  with pytest.raises(chorales.ChoraleDataError, match=r"evil\.npz.*(posix|os)\.system"):
    chorales.load_npz_chorales(str(path))
  assert not marker.exists()


def test_safe_loader_equals_numpy_pickle_loader(tmp_path):
  rng = np.random.default_rng(0)
  path = tmp_path / "small.npz"
  write_object_npz(path, random_splits(rng))
  ours = safe_npz.load_npz(path)
  with np.load(path, allow_pickle=True) as theirs:  # trusted: we just wrote it
    for split in chorales.SPLITS:
      assert len(ours[split]) == len(theirs[split])
      for a, b in zip(ours[split], theirs[split]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


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


def test_normalisation_round_trips_every_pitch():
  pitches = np.arange(episodes.PITCH_LOW, episodes.PITCH_HIGH + 1)
  x = episodes.normalise(pitches)
  assert x[0] == -1.0 and x[-1] == 1.0
  np.testing.assert_array_equal(episodes.to_pitches(x + 0.4 * 2 / 45), pitches)


def test_pool_skips_windows_with_rests_and_flattens_time_major():
  chorale = (np.arange(10)[:, None] + 40 + 10 * np.arange(4)).astype(np.float32)
  chorale[6] = np.nan  # a rest at step 6
  pool = episodes.make_pool([chorale], episode_steps=3, rests="skip")
  # Windows start at 0..7; those covering step 6 (starts 4, 5, 6) are dropped.
  np.testing.assert_array_equal(np.asarray(pool.window_starts), [0, 1, 2, 3, 7])
  x = episodes.sample_episodes(pool, jax.random.PRNGKey(0), (50,), 3)
  pitches = episodes.to_pitches(x).reshape(50, 3, 4)  # x[4 s + i] = voice i at step s
  assert np.all(pitches[:, 1:, 0] - pitches[:, :-1, 0] == 1)
  assert np.all(pitches[:, :, 1] - pitches[:, :, 0] == 10)
  assert set(pitches[:, 0, 0]) == {40, 41, 42, 43, 47}


def test_hold_policy_fills_rests_with_previous_pitch():
  chorale = np.full((6, 4), 50, np.float32)
  chorale[:2] = np.nan
  chorale[3:5, 2] = np.nan
  chorale[2, 2] = 55
  pool = episodes.make_pool([chorale], episode_steps=6, rests="hold")
  held = episodes.to_pitches(pool.steps)
  np.testing.assert_array_equal(held[:, 2], [55, 55, 55, 55, 55, 50])
  with pytest.raises(ValueError, match="data.rests='drop'"):
    episodes.make_pool([chorale], episode_steps=6, rests="drop")


def test_sampling_is_uniform_over_chorales_not_windows():
  short = np.full((4, 4), 40.0, np.float32)   # 1 window of 4 steps
  long = np.full((103, 4), 60.0, np.float32)  # 100 windows
  pool = episodes.make_pool([short, long], episode_steps=4)
  x = episodes.sample_episodes(pool, jax.random.PRNGKey(1), (4000,), 4)
  share_short = np.mean(episodes.to_pitches(x[:, 0]) == 40)
  assert 0.45 < share_short < 0.55


def test_evaluation_set_is_fixed_by_seed():
  rng = np.random.default_rng(3)
  pool = episodes.make_pool([rng.integers(40, 80, (50, 4)).astype(np.float32) for _ in range(5)],
                            episode_steps=8)
  a = episodes.evaluation_set(pool, 7, 3, 4, 8)
  b = episodes.evaluation_set(pool, 7, 3, 4, 8)
  c = episodes.evaluation_set(pool, 8, 3, 4, 8)
  assert a.shape == (3, 4, 32)
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert not np.array_equal(np.asarray(a), np.asarray(c))
  # One compiled program per shape, the same draw as the op-by-op sampler.
  np.testing.assert_array_equal(np.asarray(a), np.asarray(episodes.sample_episodes(
      pool, jax.random.PRNGKey(7), (3, 4), 8)))


def test_music21_score_becomes_a_16th_note_grid():
  from music21 import chord, note, stream  # pylint: disable=import-outside-toplevel
  from kanerva_music.data import bach_corpus  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitches in [("Soprano", ["C5", "D5"]), ("Alto", ["E4", "F4"]),
                        ("Tenor", ["G3", None]), ("Bass", ["C3", ["C3", "G3"]])]:
    part = stream.Part()
    part.partName = name
    for p in pitches:
      if p is None:
        part.append(note.Rest(quarterLength=1))
      elif isinstance(p, list):
        part.append(chord.Chord(p, quarterLength=1))
      else:
        part.append(note.Note(p, quarterLength=1))
    score.insert(0, part)
  grid = bach_corpus.score_to_pitches(score)
  assert grid.shape == (8, 4)
  np.testing.assert_array_equal(grid[:4, 0], [72] * 4)
  np.testing.assert_array_equal(grid[4:, 1], [65] * 4)
  assert np.all(np.isnan(grid[4:, 2]))
  np.testing.assert_array_equal(grid[4:, 3], [55] * 4)  # top note of the chord
  assert [bach_corpus.split_of(i) for i in range(5)] == ["train"] * 3 + ["valid", "test"]


def test_a_byte_corrupted_member_names_the_file_and_member(tmp_path):
  path = tmp_path / "damaged.npz"
  np.savez_compressed(path, train=np.arange(4000, dtype=np.float64),
                      test=np.arange(10, dtype=np.float64))
  raw = bytearray(path.read_bytes())
  with zipfile.ZipFile(path) as archive:
    info = archive.getinfo("train.npy")
  middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
  raw[middle] ^= 0xFF  # flip one byte inside train.npy's compressed data
  path.write_bytes(bytes(raw))
  with pytest.raises(safe_npz.UnsafeNpzError, match=r"damaged.npz\[train.npy\]: corrupt archive"):
    safe_npz.load_npz(path)


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
