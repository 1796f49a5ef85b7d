"""kanerva_music.tools.ablation: the ablation and model tables, their bad input in one line."""

import json

import pytest

from kanerva_music.tools import ablation


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
  with pytest.raises(ablation.ReportError, match="--mode=eval"):
    ablation.table([str(tmp_path / "missing")])
  (tmp_path / "a" / "report.json").write_text('{"config_summary": {"pri')  # truncated
  assert ablation.main(["ablation", str(tmp_path / "a")]) == 2


def _one_error_line(capsys, argv, code=2):
  assert ablation.main(["ablation"] + argv) == code
  err = capsys.readouterr().err.strip().splitlines()
  return err[0] if err else ""


def _prior_report(sha="aa"):
  novel = lambda v: {"one_pass": {"novel": {"acc_exact": v}}}
  return {"data_provenance": {"kind": "jsb_file", "sha256": sha * 32},
          "prior": {"config_summary": {"network": "conv"},
                    "complete": {"half": novel(0.3255), "random_50": novel(0.809)},
                    "stored": {"half": {"acc_exact": 0.9827, "bytes": 757760, "ceiling": 0.9863}},
                    "context": {"half": {"memory_off": {"acc_exact": 0.2538}}},
                    "context_memory_rows": 32, "code_length": {"bits_per_note": 0.99946}}}


def test_ablation_bad_reports_and_flags_are_one_line(tmp_path, capsys):
  for name, report in (("damaged", {"config_summary": {}}),
                       ("prior", _prior_report()), ("other", _prior_report("bb"))):
    (tmp_path / name).mkdir()
    (tmp_path / name / "report.json").write_text(json.dumps(report))
  assert "holds an inpainting network; this table is of linear DKMs" in _one_error_line(
      capsys, [str(tmp_path / "prior")])
  assert "not a complete report of this table's models (missing or malformed " in (
      _one_error_line(capsys, [str(tmp_path / "damaged")]))
  assert "no workdir given" in _one_error_line(capsys, ["--models"])
  assert "unknown flag --model" in _one_error_line(capsys, ["--model", str(tmp_path / "prior")])
  assert ablation.main(["ablation", "--help"]) == 0
  assert "Ablation tables" in capsys.readouterr().out
  # An inpainting network's row; workdirs of other data are refused unless asked for.
  row = ablation.models_table([str(tmp_path / "prior")]).splitlines()[2]
  assert ("| inpainting network (conv) | one-hot x 32 | 757,760 | 98.3% | 32.6% | 80.9% | - | "
          "25.4% (context task) | 98.6% | - | 0.999 |") in row
  assert "trained on different data" in _one_error_line(
      capsys, ["--models", str(tmp_path / "prior"), str(tmp_path / "other")])
  mixed = ablation.models_table([str(tmp_path / "prior"), str(tmp_path / "other")],
                                mixed_data=True).splitlines()
  assert "| data |" in mixed[0] and "jsb_file bbbbbbbbbbbb" in mixed[3]
