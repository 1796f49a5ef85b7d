"""kanerva_music.codec.report: every section of a trained codec's report and its files."""

import json
import os

from kanerva_music.codec import report as codec_report
from kanerva_music.codec import train as codec_train
from kanerva_music.tools import ablation
from tests.conftest import tiny_codec_config
from tests.music_runtime.test_html_report import check_report_page as check_html_report


def test_main_trains_the_codec_and_writes_its_report(tiny_chorale_npz, tmp_path):
  config = tiny_codec_config(tiny_chorale_npz)
  config.eval.codec_capacity_sizes = (2, 4)
  workdir = str(tmp_path / "wd")
  trained = codec_train.train_and_evaluate(config, workdir)
  codec_report.write_report(config, workdir, trained)
  saved = json.load(open(os.path.join(workdir, "report.json")))
  codec = saved["codec"]
  assert set(codec["complete"]) == set(config.eval.codec_masks)
  for mask_name in config.eval.codec_masks:
    reads_of_mask = {"encoder", "attractor", "memory_off", "autoencoder"} | (
        {"optimised"} if mask_name in config.eval.optimised_read_masks else set())
    assert set(codec["complete"][mask_name]) == reads_of_mask
    for by_query in codec["complete"][mask_name].values():
      for metrics in by_query.values():
        assert 0 <= metrics["acc_exact"][-1] <= metrics["acc_2"][-1] <= 1
        assert metrics["nll"] > 0
  assert set(codec["nll_nats_per_note"]) == {"stored", "unseen", "memory_off"}
  assert codec["bits_per_note"] == trained.elbo["test"]["bits_per_note"]
  assert codec["config_summary"]["code_size"] == 8
  assert codec["config_summary"]["memory_bytes"] == 4 * 8 * 4
  # K = 4 rows of C' = 8 codes at float32: 128 bytes, whatever T.
  assert saved["storage"]["codec_K4_float32"]["bytes"]["2"] == 128
  assert saved["storage"]["codec_K4_int8"]["bytes"]["4"] == 4 * 8 + 4 * 4
  assert set(saved["frontier"]["codec_K4_bfloat16"]) == {"2", "4"}
  assert saved["frontier"]["list_lzma"]["4"]["half"]["acc_exact"] == 1.0
  assert "codec_dkm" in saved["budget"]["4096"]
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## Targets" in text and "nan" not in text.lower()
  # The melodic cue per voice: the given soprano is not scored, the others are.
  by_voice = codec["complete"]["soprano"]["encoder"]["recall"]["acc_exact_by_voice"]
  assert by_voice[0] is None and all(0 <= v <= 1 for v in by_voice[1:])
  assert "Melodic cue (only the soprano given), exact per voice:" in text
  check_html_report(workdir, ("stored", "unseen"))
  row = ablation.model_row(saved)
  half = codec["complete"]["half"]
  assert row[:3] == ("codec (mlp)", "8 x 4", "128")
  assert row[3] == f"{100 * half['encoder']['recall']['acc_exact'][-1]:.1f}%"
  assert row[8] == f"{100 * half['autoencoder']['recall']['acc_exact'][-1]:.1f}%"
  assert row[9] == str(saved["budget"]["16384"]["codec_dkm"]["largest_t"])
  for name in ("codec_complete.png", "frontier.png", "audio/codec_recall_output.wav"):
    assert os.path.getsize(os.path.join(workdir, name)) > 100
