"""kanerva_music.prior.report: every section of a small trained network's report, its listening
example, and the network beating holding the last chord."""

import json
import os

import numpy as np
import pytest

from configs import chorales as chorales_config
from kanerva_music.data import episodes
from kanerva_music.prior import report as prior_report
from kanerva_music.prior import report_text
from tests.music_runtime.test_html_report import check_report_page


def test_the_report_has_every_section_and_plays_the_harmonisation(trained_prior):
  workdir, _ = trained_prior
  report = json.load(open(os.path.join(workdir, "report.json")))
  config = chorales_config.get_config("prior_quick")
  assert set(report["prior"]["complete"]) == set(config.eval.prior_masks)
  for mask, by_read in report["prior"]["complete"].items():
    sampled = mask in config.eval.gibbs_masks  # Gibbs, the listening read, under these only
    assert set(by_read) == ({"one_pass", "gibbs"} if sampled else {"one_pass"}), mask
  code = report["prior"]["code_length"]
  assert 0 < code["bits_per_note"] < 8 and len(code["bits_per_note_by_order"]) == 2
  assert set(report["baselines"]["soprano"]) == {"hold_last_chord", "nearest_train",
                                                 "parallel_motion"}
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## Targets" in text and "a test chorale's melody harmonised" in text
  assert "| training time | " in text and f"({config.num_train_steps:,} steps, " in text
  check_report_page(workdir, ["the melody", "one pass", "Gibbs sample", "Bach, as written"])


def test_a_small_trained_network_beats_holding_the_last_chord(trained_prior):
  workdir, done = trained_prior
  stdout = done.stdout
  report = json.load(open(os.path.join(workdir, "report.json")))
  prior, base = report["prior"], report["baselines"]
  for mask in ("random_50", "soprano", "outer"):
    ours = prior["complete"][mask]["one_pass"]["novel"]["acc_exact"]
    assert ours > base[mask]["hold_last_chord"]["novel"]["acc_exact"], mask
  # the one-pass argmax is what exact accuracy rewards; a sample scores lower per entry
  r50 = prior["complete"]["random_50"]
  assert r50["gibbs"]["novel"]["acc_exact"] < r50["one_pass"]["novel"]["acc_exact"]
  assert "Best validation NLL:" in stdout


def test_a_training_time_over_its_target_says_where_the_best_parameters_fell():
  report = {"timing": {"train_seconds": 3960.0},
            "prior": {"config_summary": {"num_train_steps": 4000, "best_step": 4000}}}
  (claim,) = report_text.training_claims(report, "NLL per hidden note: train 1.165")
  assert claim.held is False and claim.ours == "66.0 min (4,000 steps, 1.01 steps/s)"
  assert claim.reason == ("the best validation NLL at step 4,000 of 4,000; NLL per hidden note: "
                          "train 1.165")
  report["timing"]["train_seconds"] = 600.0
  assert report_text.training_claims(report, "")[0].held is True
  report["timing"]["train_seconds"] = None  # a workdir trained before times were recorded
  assert report_text.training_claims(report, "") == []


def test_the_listening_piece_is_the_first_stretch_without_a_rest():
  rng = np.random.default_rng(0)
  short = rng.integers(40, 80, (12, 4)).astype(np.float64)  # too short for 20 steps
  broken = rng.integers(40, 80, (40, 4)).astype(np.float64)
  broken[10, 2] = np.nan                                     # a rest: 29 free steps after it
  pool = episodes.make_pool([short, broken], 8)
  piece = prior_report.listening_piece(pool, 20, 8)
  np.testing.assert_array_equal(piece, broken[11:31])
  with pytest.raises(ValueError, match="no test chorale has 40 steps without a rest"):
    prior_report.listening_piece(pool, 40, 8)
