"""tcn_wta.reporting.report: analysis and generation of a tiny trained Groove model, end to end."""

import json
import os

import jax
import numpy as np
import pytest

from tcn_wta.applications import generation
from tcn_wta.datasets import groove
from tcn_wta.reporting import report
from tcn_wta.training import train
from tests.conftest import tiny_groove_config
from tests.conftest import write_fake_groove


def test_analyze_and_generate_on_a_tiny_groove(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False, second_drummer=4)
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache", steps=4)
  config.analysis.folds = 2
  config.analysis.bank_windows = 8
  workdir = str(tmp_path / "run")
  with pytest.raises(FileNotFoundError, match="train first"):
    report.analyze(config, workdir)
  trained_run = train.train_and_evaluate(config, workdir)
  result = report.analyze(config, workdir)
  saved = json.load(open(tmp_path / "run" / "report.json"))
  assert saved["step"] == 4 and saved["k"] == 1
  assert saved["data"]["dataset"] == "groove" and saved["data"]["evaluated_split"] == "test"
  assert saved["data"]["source"] == os.path.abspath(config.data.root)
  assert saved["data"]["cache"].startswith(str(config.data.cache_dir))
  assert f"from {os.path.abspath(config.data.root)}" in open(tmp_path / "run" / "REPORT.md").read()
  provenance = saved["data_provenance"]
  assert provenance["kind"] == "groove" and len(provenance["sha256"]) == 64
  assert f"sha256 {provenance['sha256'][:12]}" in open(tmp_path / "run" / "REPORT.md").read()
  for name, value in trained_run.metrics["test"].items():
    if name != "loss":
      assert saved["reconstruction"][name] == pytest.approx(value, abs=1e-5)
  assert saved["cleaning"]["corrupted"]["hit_f1"] == pytest.approx(0.8, abs=0.02)
  drums = saved["generation"]["drums"]
  assert drums["bars"] == 8 and drums["hits_on_grid"] and drums["repeated_sections_equal"]
  assert saved["detection"]["drummer"]["classes"] == 2
  assert saved["detection"]["style"]["classes"] == 2  # "funk/groove2" counts as funk
  size = saved["model_size"]
  assert size["parameters"] == sum(int(np.prod(p.shape)) for p in
                                   jax.tree_util.tree_leaves(trained_run.state["params"]))
  assert size["checkpoint_bytes"] > size["parameter_bytes"]
  from tests.music_runtime.test_html_report import check_report_page  # pylint: disable=import-outside-toplevel
  check_report_page(str(tmp_path / "run"), ("original", "cleaned"))
  text = open(tmp_path / "run" / "REPORT.md").read()
  for claim in ("reconstructs music (3.3)", "cleaning", "top N", "structured drums",
                "drummer detection", "style map", "Performance RNN 25 MB"):
    assert claim in text
  for name in ("top_n.png", "reconstruction.png", "style_map_drummer.png", "audio/cleaned.wav",
               "audio/original.mid", "generated/drums_AABA_120bpm_seed0.mid"):
    assert (tmp_path / "run" / name).exists(), name
  assert result["generation"] == saved["generation"]

  config.generate.structure, config.generate.bars_per_section = "ABAB", 1
  config.generate.quantize = True
  generated = generation.from_checkpoint(config, workdir)["drums"]
  assert generated["bars"] == 4 and generated["hits_on_grid"] and generated[
      "repeated_sections_equal"]
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.midi_file_to_note_sequence(generated["midi"])
  step = groove.step_seconds(120.0)
  assert seq.tempos[0].qpm == pytest.approx(120.0)
  assert (seq.time_signatures[0].numerator, seq.time_signatures[0].denominator) == (4, 4)
  # Quantized: every hit starts exactly on a 16th (up to MIDI ticks).
  assert all(abs(n.start_time / step - round(n.start_time / step)) < 0.02 for n in seq.notes)
