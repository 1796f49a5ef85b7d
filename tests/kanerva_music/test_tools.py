"""Small command-line tools: the ablation table and the stress test's step-rate windows."""

import json

import numpy as np
import pytest

from kanerva_music.tools import ablation
from kanerva_music.tools import stress


def fake_report(prior_cov, stored, unseen):
  lists = lambda v: {"acc_exact": [0.0, v], "acc_2": [0.0, v], "acc_1": [0.0, v], "mse": [1, 0]}
  return {"config_summary": {"prior_cov": prior_cov},
          "elbo_bits_per_dim": {"test": {"mean": 0.7712, "stderr": 0.001}},
          "memory_use": {"kl_memory_per_dim": 0.0461},
          "complete": {"half": {read: {"recall": lists(stored), "novel": lists(unseen)}
                                for read in ("svd", "lstsq")}},
          "denoise_by_read": {read: lists(0.356) for read in ("svd", "lstsq")}}


def test_ablation_table_has_a_row_per_workdir_and_read(tmp_path):
  for name, cov in (("a", "fixed"), ("b", "full")):
    (tmp_path / name).mkdir()
    (tmp_path / name / "report.json").write_text(json.dumps(fake_report(cov, 0.977, 0.086)))
  lines = ablation.table([str(tmp_path / "a"), str(tmp_path / "b")]).splitlines()
  assert len(lines) == 2 + 4
  assert "| fixed | ridge | 0.771 | 0.0461 | 97.7% | 8.6% | 35.6% | 35.6% |" in lines[2]
  assert "| full | lstsq |" in lines[5]
  with pytest.raises(FileNotFoundError, match="--mode=eval"):
    ablation.table([str(tmp_path / "missing")])
  (tmp_path / "a" / "report.json").write_text('{"config_summary": {"pri')  # truncated
  assert ablation.main(["ablation", str(tmp_path / "a")]) == 2


def test_step_rate_windows_find_a_stall():
  steady = np.arange(0, 60, 0.01)  # 100 steps/s for 60 s
  stalled = np.concatenate([steady[steady < 30], 35 + np.arange(0, 25, 0.01)])  # 5 s pause
  rates = stress.step_rate_windows(steady)
  assert len(rates) == 5 and np.allclose(rates, 100, atol=0.2)
  stall = stress.step_rate_windows(stalled)
  assert stall.min() < np.median(stall) / 1.5


def test_the_completion_tool_refuses_training_episodes_of_other_data(tmp_path):
  from kanerva_music.tools import completion_files  # pylint: disable=import-outside-toplevel
  from kanerva_music.tools import user_score  # pylint: disable=import-outside-toplevel
  trained_on = {"kind": "music21 corpus", "path": None, "sha256": "a" * 64}
  (tmp_path / "config.json").write_text(json.dumps({"seed": 0, "data_provenance": trained_on}))
  loaded = {"kind": "data directory", "path": "x/Jsb16thSeparated.npz", "sha256": "b" * 64}
  with pytest.raises(user_score.CompletionInputError,
                     match="was trained on music21 corpus .*aaaaaaaaaaaa.*, but its training "
                           "episodes would come from data directory x/Jsb16thSeparated.npz"):
    completion_files.check_training_data(str(tmp_path), loaded)
  completion_files.check_training_data(str(tmp_path), dict(loaded, sha256="a" * 64))


def test_the_completion_tool_refuses_a_tcn_workdir_in_one_line(tmp_path):
  from kanerva_music.tools import complete  # pylint: disable=import-outside-toplevel
  from kanerva_music.tools import user_score  # pylint: disable=import-outside-toplevel
  (tmp_path / "config.json").write_text(json.dumps({"program": "tcn_wta.main", "seed": 0}))
  with pytest.raises(user_score.CompletionInputError, match="holds a run of python -m "
                                                            "tcn_wta.main"):
    complete.load_trained(str(tmp_path))


def test_the_prior_benchmark_prints_each_ratio(capsys):
  from configs import chorales  # pylint: disable=import-outside-toplevel
  from kanerva_music.tools import prior_benchmark  # pylint: disable=import-outside-toplevel
  config = chorales.get_config("prior_quick")
  config.prior.width, config.prior.depth, config.batch_size = 16, 2, 4
  config.eval.gibbs_steps = 2
  prior_benchmark.report(config, repeats=1, train_steps=1)
  out = capsys.readouterr().out
  assert "GFLOP/s:" in out and "x of it" in out and "episodes/s" in out
  assert "cues/s without forming the memory" in out and "max difference" in out
