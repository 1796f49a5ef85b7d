"""kanerva_music.reporting.report: a trained memory's report.json, REPORT.md, REPORT.html, figures
and listening files."""

import json
import os

import numpy as np
import pytest

from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.memory import dkm
from kanerva_music.reporting import report
from kanerva_music.tools import complete
from tests.music_runtime import test_html_report


def test_report_has_every_section_and_files(reported_workdir):
  config, workdir, result, out = reported_workdir
  saved = json.load(open(os.path.join(workdir, "report.json")))
  assert saved["elbo_bits_per_dim"] == result.elbo_bits_per_dim
  assert set(saved["denoise_by_read"]) == set(dkm.READ_METHODS)
  assert saved["denoise"] == saved["denoise_by_read"][config.model.read_method]
  for mask_name in evaluate.MASKS:
    assert set(saved["baselines"][mask_name]) == set(baselines.COMPLETION_BASELINES)
    for by_query in saved["baselines"][mask_name].values():
      assert set(by_query) == {"recall", "novel"}
      assert all(0 <= by_query[q]["acc_exact"] <= by_query[q]["acc_2"] <= 1 for q in by_query)
    # Nearest stored episode recalls every stored episode exactly, whatever the mask.
    assert saved["baselines"][mask_name]["nearest_stored"]["recall"]["acc_exact"] == 1.0
  assert set(saved["baselines"]["denoise"]) == set(baselines.DENOISE_BASELINES)
  assert saved["baselines"]["denoise"]["cue"]["acc_exact"] == pytest.approx(
      saved["denoise"]["acc_exact"][0], abs=1e-6)
  half = saved["complete"]["half"][config.model.read_method]
  assert saved["memory_use"]["half_exact_stored_minus_unseen"] == pytest.approx(
      half["recall"]["acc_exact"][-1] - half["novel"]["acc_exact"][-1])
  assert saved["memory_use"]["kl_memory_per_dim"] > 0
  assert saved["config_summary"]["prior_cov"] == config.model.prior_cov
  assert saved["config_summary"]["read"] == config.model.read_method
  assert saved["config_summary"]["sigma_xi"] == config.model.obs_noise_std
  assert saved["config_summary"]["data_source"] == result.data_source.line()
  assert saved["data_provenance"] == result.data_source.record()
  assert saved["attention"]["beta"] in evaluate.ATTENTION_BETAS
  for key in ("capacity_curves", "capacity_curves_same_chorale"):
    curves = saved[key]
    # The trained K = 4 on the independent sets (the storage frontier's) is read at every
    # precision; K = 8 and the same-chorale sets at float32 only.
    lower = [f"{r}@{p}" for r in ("lstsq", "attention") for p in ("bfloat16", "int8")
             if key == "capacity_curves"]
    assert set(curves) == {"lstsq", "attention", "readout", "nearest_stored",
                           "modern_hopfield", *lower}
    for read in ("lstsq", "attention", "readout", *lower):
      assert set(curves[read]) == ({"4"} if "@" in read else {"4", "8"})
      for by_size in curves[read].values():
        for by_task in by_size.values():
          assert set(by_task) == ({"half"} if "@" in read else
                                  {"half", "three_quarters", "denoise"})
          assert all(0 <= v["acc_exact"] <= 1 for v in by_task.values())
  # Bytes: C = 32 values per episode; K = 4 rows of 32 float32 values; int8 adds row scales.
  num_cols = 4 * config.data.episode_steps
  assert saved["storage"]["list_pitch_bytes"]["bytes_per_episode"]["8"] == num_cols
  assert saved["storage"]["list_float32"]["bytes_per_episode"]["8"] == 4 * num_cols
  assert saved["storage"]["dkm_lstsq_K4_float32"]["bytes"]["2"] == 4 * num_cols * 4
  assert saved["storage"]["dkm_lstsq_K4_int8"]["bytes"]["2"] == 4 * num_cols + 4 * 4
  assert saved["storage"]["dkm_attention_K4_float32"]["bytes"]["8"] == (4 + 8) * num_cols * 4
  assert not saved["storage"]["dkm_lstsq_K4_float32"]["full_rank"]
  assert saved["frontier"]["list_lzma"]["8"]["half"]["acc_exact"] == 1.0
  assert (saved["frontier"]["dkm_lstsq_K4_float32"]["2"]["half"]["acc_exact"]
          == saved["capacity_curves"]["lstsq"]["4"]["2"]["half"]["acc_exact"])
  # 4 KB hold 4096 / 32 = 128 > 8 episodes as pitch bytes: every measured T.
  assert saved["budget"]["4096"]["list_pitch_bytes"] == {
      "largest_t": 8, "method": "list_pitch_bytes", "measured_max_t": 8}
  assert set(saved["capacity_curves"]["lstsq"]["4"]) == {"2", "8"}
  assert saved["capacity_curves"]["nearest_stored"]["all"]["8"]["half"]["acc_exact"] == 1.0
  assert set(saved["complete"]) == set(evaluate.MASKS)
  for by_method in saved["complete"].values():
    assert set(by_method) == set(evaluate.METHODS)
    for by_query in by_method.values():
      for lists in by_query.values():
        assert all(len(lists[m]) == config.eval.num_iters + 1 for m in pitch_metrics.METRICS)
  assert set(saved["capacity"]) == {str(t) for t in config.eval.recall_sizes}
  assert saved["timing"]["train_seconds"] == out["timing"]["train_seconds"] > 0
  # An evaluation-only run reads the training time the workdir recorded.
  assert report.recorded_train_seconds(workdir, None) == out["timing"]["train_seconds"]
  # Iteration 0 of denoising is the cue: x + N(0, 0.1^2), so its MSE is about 0.01.
  assert saved["denoise"]["mse"][0] == pytest.approx(0.01, rel=0.1)
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "0.76 +- 0.002" in text and "nan" not in text.lower()
  assert f"sha256 {saved['data_provenance']['sha256'][:12]}" in text
  assert "baseline: hold_last_chord" in text and "baseline: modern_hopfield" in text
  test_html_report.check_report_page(workdir, ("denoise", "complete"))
  # The completion tool reads with the report's best half-masked read of stored episodes.
  half_all = saved["complete"]["half"]
  best = max(dkm.READ_METHODS, key=lambda r: half_all[r]["recall"]["acc_exact"][-1])
  assert half_all[complete.best_read(workdir, config)]["recall"]["acc_exact"][-1] == (
      half_all[best]["recall"]["acc_exact"][-1])
  assert "## Storage: recall against bytes" in text
  for name in ("fig2_denoise.png", "fig3_complete.png", "fig4_continue.png", "capacity.png",
               "frontier.png",
               "audio/complete_output.mid", "audio/complete_output.wav"):
    assert os.path.getsize(os.path.join(workdir, name)) > 100
    assert name in text


def test_the_listener_section_reads_each_setting_and_plays_its_recall(reported_workdir):
  config, workdir, _, _ = reported_workdir
  saved = json.load(open(os.path.join(workdir, "report.json")))
  section = saved["listener"]
  assert set(section["capacity_by_voice"]) == {"uniform", "melody_4x"}
  for entry in section["capacity_by_voice"].values():
    assert set(entry["curves"]) == {"2", "8"}
    for by_task in entry["curves"].values():
      assert by_task["soprano"]["soprano"] is None  # the given melody is not scored
      assert all(0 <= by_task["half"][v] <= 1 for v in ("soprano", "alto", "tenor", "bass"))
  # The uniform memory's lstsq read is the capacity curves' (same sets' draw aside): its mean
  # over voices is the overall figure, weighted by each voice's scored entries (all equal here).
  half = section["capacity_by_voice"]["uniform"]["curves"]["8"]["half"]
  assert half["all"] == pytest.approx(
      np.mean([half[v] for v in ("soprano", "alto", "tenor", "bass")]), abs=1e-6)
  cue = section["melodic_cue"]
  assert set(cue["reads"]) == set(dkm.READ_METHODS)
  assert set(cue["baselines"]) == {"nearest_stored", "hold_last_chord"}
  assert cue["soprano_block_condition"] >= 1
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## Remembering like a listener" in text and "| melody_4x | half | 8 |" in text
  assert section["list_by_voice"]["8"]["half"]["all"] == 1.0  # the list holds every episode
  assert "| baseline: the list (nearest stored) | soprano | 8 |" in text
  for name in ("listener_capacity.png", "audio/listener_cue.wav",
               "audio/listener_recall_melody_4x.mid", "audio/listener_original.wav"):
    assert os.path.getsize(os.path.join(workdir, name)) > 100, name
  assert "- melodic cue, T = 8:" in text  # the smallest size past K = 4
