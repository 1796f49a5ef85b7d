"""kanerva_music.evaluation.storage and frontier: byte counts by hand, exact round trips, the
budget rule."""

import lzma

import ml_dtypes
import numpy as np
import pytest

from kanerva_music.evaluation import frontier
from kanerva_music.evaluation import storage


def test_matrix_bytes_by_hand():
  assert storage.matrix_bytes(4, 8, "float32") == 4 * 8 * 4
  assert storage.matrix_bytes(4, 8, "bfloat16") == 4 * 8 * 2
  assert storage.matrix_bytes(4, 8, "int8") == 4 * 8 + 4 * 4  # a float32 scale per row
  # The paper's memory, 32 x 128 float32: 16 KB; its episodes as pitch bytes: 128 each.
  assert storage.matrix_bytes(32, 128, "float32") == 16384
  # The attention read keeps T x C read-outs beside the memory.
  assert storage.memory_bytes(4, 8, "float32", 3, keeps_readouts=True) == 128 + 3 * 8 * 4
  with pytest.raises(ValueError, match="int4"):
    storage.matrix_bytes(4, 8, "int4")


def test_quantize_matches_numpy_rounding():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(5, 7)).astype(np.float32)
  x[2] = 0.0  # a zero row stays zero under int8
  np.testing.assert_array_equal(np.asarray(storage.quantize(x, "float32")), x)
  expected_bf16 = x.astype(ml_dtypes.bfloat16).astype(np.float32)
  np.testing.assert_array_equal(np.asarray(storage.quantize(x, "bfloat16")), expected_bf16)
  scale = np.abs(x).max(axis=1, keepdims=True) / 127
  expected_int8 = np.where(scale > 0, np.round(x / np.where(scale > 0, scale, 1)) * scale, 0)
  got = np.asarray(storage.quantize(x, "int8"))
  np.testing.assert_allclose(got, expected_int8, rtol=1e-6, atol=1e-7)
  assert np.all(np.abs(got - x) <= scale / 2 + 1e-7)
  assert len(np.unique(np.round(got[0] / scale[0]))) <= 255


def random_pitches(rng, num_episodes=6, num_steps=32):
  """Chorale-like pitch grids: held notes (runs of 1-8 steps) per voice."""
  out = np.zeros((num_episodes, num_steps, 4), np.int64)
  for e in range(num_episodes):
    for v in range(4):
      s = 0
      while s < num_steps:
        run = rng.integers(1, 9)
        out[e, s:s + run, v] = rng.integers(36, 82)
        s += run
  return out


def test_lossless_lists_round_trip_exactly():
  rng = np.random.default_rng(1)
  pitches = random_pitches(rng)
  np.testing.assert_array_equal(storage.lzma_decompress(storage.lzma_compress(pitches), 32),
                                pitches)
  np.testing.assert_array_equal(
      storage.run_length_decode(storage.run_length_encode(pitches), 32), pitches)
  # A note held longer than one run can count (255 steps) is split, and still round-trips.
  long = np.full((1, 300, 4), 60)
  code = storage.run_length_encode(long)
  assert len(code) == 4 * 2 * 2  # each voice: runs of 255 and 45 steps
  np.testing.assert_array_equal(storage.run_length_decode(code, 300), long)


def test_list_bytes_by_hand():
  held = np.full((2, 16, 4), 60)
  held[1, 8:, 0] = 62  # one change in one voice of the second episode
  sizes = storage.list_bytes(held)
  assert sizes["list_float32"] == 2 * 16 * 4 * 4
  assert sizes["list_pitch_bytes"] == 2 * 16 * 4
  assert sizes["list_run_length"] == 2 * (4 + 5)  # (pitch, length) pairs: 4 runs, then 5
  assert sizes["list_lzma"] == len(lzma.compress(held.astype(np.uint8).tobytes(),
                                                 format=lzma.FORMAT_RAW,
                                                 filters=storage.LZMA_FILTERS))
  with pytest.raises(ValueError, match="MIDI"):
    storage.pitch_bytes(np.full((1, 2, 4), 300))


def test_budget_takes_the_largest_recalled_t_within_bytes():
  curves = {
      "lstsq": {"4": {"2": {"half": {"acc_exact": 1.0}}, "4": {"half": {"acc_exact": 0.95}},
                      "8": {"half": {"acc_exact": 0.5}}},
                "8": {"2": {"half": {"acc_exact": 1.0}}, "4": {"half": {"acc_exact": 1.0}},
                      "8": {"half": {"acc_exact": 1.0}}}},
      "lstsq@bfloat16": {"4": {"2": {"half": {"acc_exact": 1.0}},
                               "4": {"half": {"acc_exact": 0.8}},
                               "8": {"half": {"acc_exact": 0.1}}}},
      "nearest_stored": {"all": {t: {"half": {"acc_exact": 1.0}} for t in ("2", "4", "8")}},
      "modern_hopfield": {"all": {t: {"half": {"acc_exact": 0.99}} for t in ("2", "4", "8")}},
  }
  num_cols = 8
  list_bytes = {t: {"list_float32": 32.0 * t, "list_pitch_bytes": 8.0 * t,
                    "list_run_length": 4.0 * t, "list_lzma": 3.0 * t} for t in (2, 4, 8)}
  methods = {**frontier.memory_methods(curves, num_cols, reads=("lstsq",)),
             **frontier.list_methods(curves, list_bytes)}
  # K = 4 rows x 8 columns: 128 bytes float32, 64 bfloat16; K = 8 = C is full rank.
  assert methods["dkm_lstsq_K4_float32"]["bytes"]["4"] == 128
  assert methods["dkm_lstsq_K4_bfloat16"]["bytes"]["4"] == 64
  assert methods["dkm_lstsq_K8_float32"]["full_rank"]
  budget = frontier.budget_section(methods, budgets=(64, 128))
  assert budget["64"]["dkm_lstsq"] == {"largest_t": 2, "method": "dkm_lstsq_K4_bfloat16",
                                       "measured_max_t": 8}
  assert budget["128"]["dkm_lstsq"]["largest_t"] == 4  # K = 8 holds 8 but is full rank
  assert budget["64"]["list_pitch_bytes"]["largest_t"] == 8
  assert budget["64"]["list_float32"]["largest_t"] == 2
  assert budget["64"]["modern_hopfield"]["largest_t"] == 2
  storage_section = frontier.storage_section(methods)
  assert storage_section["dkm_lstsq_K4_float32"]["bytes_per_episode"]["8"] == 16.0
  assert frontier.frontier_section(methods)["list_lzma"]["4"]["half"]["acc_exact"] == 1.0
