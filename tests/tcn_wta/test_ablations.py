"""tcn_wta.applications.ablations: each variant trains at its own k, and the report shows them."""

import json
import os

import pytest

from tcn_wta.applications import ablations
from tcn_wta.reporting import report
from tcn_wta.training import train
from tests.conftest import tiny_groove_config
from tests.conftest import write_fake_groove


def test_every_ablation_trains_at_its_own_k_for_most_of_its_steps():
  from configs import corpus as corpus_config  # pylint: disable=import-outside-toplevel
  from configs import groove as groove_config  # pylint: disable=import-outside-toplevel
  from configs import maestro as maestro_config  # pylint: disable=import-outside-toplevel
  from tcn_wta import model as model_lib  # pylint: disable=import-outside-toplevel
  for config in (groove_config.get_config(), corpus_config.get_config(),
                 maestro_config.get_config()):
    for name, overrides in ablations.variants(config):
      variant = ablations.variant_config(config, name, overrides)
      k = variant.model.k.k_end
      reached = next(step for step in range(variant.num_train_steps + 1)
                     if model_lib.k_at_step(variant.model.k, step) == k)
      assert reached <= 0.75 * variant.num_train_steps, (config.name, name)
      if name == "k1":   # Groove's own schedule already reaches k = 1: unchanged
        assert variant.model.k.decay_every == config.model.k.decay_every


def test_ablate_trains_each_variant_and_the_report_shows_them(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False, second_drummer=4)
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache", steps=4)
  config.analysis.folds = 2
  config.analysis.bank_windows = 8
  config.ablation.ks, config.ablation.phase_ks = (1, 2), (1,)
  assert [name for name, _ in ablations.variants(config)] == [
      "k1", "k1_denoising", "k2", "k2_denoising", "k1_any_phase"]
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(config, workdir)
  results = ablations.run(config, workdir)
  saved = json.load(open(tmp_path / "run" / "ablations.json"))
  assert set(saved["runs"]) == {"k1", "k1_denoising", "k2", "k2_denoising", "k1_any_phase"}
  assert saved["runs"]["k2"]["k"] == 2 and saved["runs"]["k1_any_phase"]["k"] == 1
  for run in saved["runs"].values():
    assert 0 <= run["clean"] <= 1 and 0 <= run["added silenced"] <= 1
    assert os.path.isdir(run["workdir"])
  assert json.load(open(tmp_path / "run" / "ablations" / "k1_denoising" / "config.json"))[
      "train"]["corruption"] == {"drop": 0.2, "add": 0.2}
  assert (tmp_path / "run" / "ablations.png").exists() and results["runs"] == saved["runs"]
  analysed = report.analyze(config, workdir)
  text = open(tmp_path / "run" / "REPORT.md").read()
  for claim in ("a denoising-trained model cleans", "beat-length prior", "## Ablations",
                "AUROC", "bar-repetition filter", "top N atoms",
                "lossless", "not reproduced"):
    assert claim in text, claim
  assert analysed["ablations"]["runs"].keys() == saved["runs"].keys()
  conditions = analysed["cleaning"]["cells"]["conditions"]
  assert conditions["added 20%"]["corrupted input"] == pytest.approx(2 / 2.2, abs=0.03)
  assert (tmp_path / "run" / "atoms.png").exists()
  assert (tmp_path / "run" / "training_curve.png").exists()
