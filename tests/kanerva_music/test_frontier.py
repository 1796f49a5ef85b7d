"""kanerva_music.evaluation.frontier: each method's bytes from its rows and precision, the
largest T within a budget, and the budget table's families (full-rank memories left out)."""

from kanerva_music.evaluation import frontier


def _curves():
  half = lambda acc: {"half": {"acc_exact": acc}}
  return {
      "lstsq": {"4": {"8": half(1.0), "16": half(0.95), "32": half(0.5)},
                "200": {"8": half(1.0), "16": half(1.0), "32": half(1.0)}},
      "lstsq@int8": {"4": {"8": half(0.97), "16": half(0.6), "32": half(0.2)}},
      "nearest_stored": {"all": {"8": half(1.0), "16": half(1.0), "32": half(1.0)}}}


def _list_bytes():
  return {t: {"list_float32": 512.0 * t, "list_pitch_bytes": 128.0 * t,
              "list_run_length": 40.0 * t, "list_lzma": 30.0 * t + 60} for t in (8, 16, 32)}


def test_memory_bytes_follow_rows_columns_and_precision():
  methods = frontier.memory_methods(_curves(), num_cols=128, reads=("lstsq",))
  assert methods["dkm_lstsq_K4_float32"]["bytes"] == {"8": 4 * 128 * 4, "16": 2048, "32": 2048}
  assert methods["dkm_lstsq_K4_int8"]["bytes"]["8"] == 4 * 128 + 4 * 4  # plus a scale per row
  assert methods["dkm_lstsq_K200_float32"]["full_rank"]
  assert not methods["dkm_lstsq_K4_float32"]["full_rank"]


def test_largest_within_is_the_largest_t_that_fits_and_recalls():
  method = {"bytes": {"8": 100, "16": 200, "32": 400}, "recall": {"8": 1.0, "16": 0.95,
                                                                  "32": 0.99}}
  assert frontier.largest_within(method, 400) == 32
  assert frontier.largest_within(method, 399) == 16
  assert frontier.largest_within(method, 99) == 0
  assert frontier.largest_within(method, 400, threshold=0.999) == 8


def test_the_budget_table_takes_each_familys_best_and_leaves_out_full_rank_memories():
  sections = frontier.sections(_curves(), _list_bytes(), num_cols=128)
  assert "dkm_lstsq_K200_float32" in sections["storage"]  # listed, with its bytes
  budget = sections["budget"]["4096"]
  # K = 4 at float32 recalls 16 at 95%; the K = 200 memory (full rank) would claim 32.
  assert budget["dkm_lstsq"] == {"largest_t": 16, "method": "dkm_lstsq_K4_float32",
                                 "measured_max_t": 32}
  # The lzma list: 30 T + 60 bytes, lossless: T = 32 costs 1,020 bytes.
  assert budget["list_lzma"]["largest_t"] == 32
  assert budget["list_float32"]["largest_t"] == 8  # 512 bytes an episode
  assert sections["budget"]["16384"]["list_float32"]["largest_t"] == 32
  per_episode = sections["storage"]["list_pitch_bytes"]["bytes_per_episode"]
  assert per_episode == {"8": 128.0, "16": 128.0, "32": 128.0}
  assert sections["frontier"]["dkm_lstsq_K4_int8"]["16"] == {"half": {"acc_exact": 0.6}}
