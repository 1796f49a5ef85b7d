"""TCN k-WTA cleaning, compression baselines, the paper's top-N atoms and the ablations, each on
made-up data where the answer is known."""

import json
import os
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from music_runtime.files import metric_writing
from music_runtime.running import config_checks
from tcn_wta.applications import ablations
from tcn_wta.applications import cleaning
from tcn_wta.applications import codes
from tcn_wta.applications import compression
from tcn_wta.datasets import data
from tcn_wta.reporting import report
from tcn_wta.training import config_checks as tcn_config_checks
from tcn_wta.training import train
from tests.conftest import tiny_groove_config, write_fake_groove


def _grid():
  """2 windows of 2 bars x 4 steps x 2 rows: row 0 plays step 0 of both bars (recurring), row 1
  plays step 1 of the first bar only (one-off)."""
  played = np.zeros((2, 8, 2), bool)
  played[:, [0, 4], 0] = True
  played[:, 1, 1] = True
  return played


def test_pooled_f1_and_the_bar_repetition_filter():
  played = _grid()
  assert cleaning.pooled_f1(played, played) == 1.0
  assert cleaning.pooled_f1(np.zeros_like(played), np.zeros_like(played)) == 1.0
  assert cleaning.pooled_f1(played[..., :1], played[..., :1] | True) == pytest.approx(
      2 * 4 / (4 + 16))
  counts = cleaning.bar_counts(played, 4)
  assert counts[0, 0, 0] == counts[0, 4, 0] == 2 and counts[0, 1, 1] == 1
  kept = cleaning.bar_repetition_filter(played, 4)
  np.testing.assert_array_equal(kept, played & (np.arange(2) == 0))


def test_editing_and_scores_of_a_model_that_knows_the_clean_grid():
  clean = _grid()
  noisy = clean.copy()
  noisy[:, 0, 0] = False          # removed
  noisy[:, 6, 1] = True           # added
  scores = clean.astype(np.float64)  # a perfect model
  out = cleaning.condition_scores(noisy, scores, clean, 4, (0.5, 0.5))
  assert out["model-guided edit"] == 1.0 and out["model output"] == 1.0
  assert out["auroc true vs added"] == 1.0 and out["auroc removed vs silent"] == 1.0
  assert out["added silenced"] == 1.0 and out["removed restored"] == 1.0
  assert out["corrupted input"] == pytest.approx(2 * 4 / (6 + 6))
  # The removed note leaves row 0 recurring in one bar only: the filter drops it too.
  assert out["bar-repetition filter"] == pytest.approx(2 * 0 / (0 + 6))
  # No deletion (low 0), no addition (high > 1): the edit is the input.
  assert cleaning.pooled_f1(cleaning.edit(noisy, scores, 0.0, 1.01), clean) == \
      out["corrupted input"]
  low, high, best = cleaning.best_thresholds(noisy, scores, clean)
  assert best == 1.0 and low > 0 and high < 1


def test_clean_breakdown_splits_recurring_from_one_off_and_loud_from_soft():
  clean = _grid()
  scores = np.zeros(clean.shape)
  scores[:, [0, 4], 0] = 1.0      # the model plays only the recurring notes
  velocities = np.where(clean, 0.3, 0.0)
  velocities[:, [0, 4], 0] = 0.9
  out = cleaning.clean_breakdown(scores, clean, velocities, 4)
  assert out["recall recurring"] == 1.0 and out["recall one-off"] == 0.0
  assert out["recurring share"] == pytest.approx(4 / 6) and out["recall"] == pytest.approx(4 / 6)
  assert out["recall loud"] == 1.0 and out["recall soft"] == 0.0


def test_lossless_grid_bytes():
  drums = np.zeros((1, 16, 9), bool)
  assert compression.bitmap_bytes(drums)[0] == 18          # one 4/4 bar of 16ths
  roll = np.zeros((1, 64, 88), bool)
  roll[0, 2:6, 40] = True
  roll[0, 10:11, 40] = True
  # Row count (7 bits), one played row: id (7) + runs (7), two runs of (start, length) at 7 bits.
  assert compression.run_length_bytes(roll)[0] == np.ceil((7 + 7 + 7 + 2 * 2 * 7) / 8)
  assert compression.lossless_bytes(roll)[0] == compression.run_length_bytes(roll)[0]
  curve = compression.row_subset_curve(_grid())
  assert [p["rows"] for p in curve] == [1, 2] and curve[-1]["f1"] == 1.0
  assert curve[0]["f1"] == pytest.approx(2 * 4 / (4 + 6))
  points = [{"f1": 0.5, "bytes_per_window": 10.0}, {"f1": 1.0, "bytes_per_window": 20.0}]
  assert compression.bytes_at_quality(points, 0.75) == pytest.approx(15.0)
  assert compression.bytes_at_quality(points, 0.2) == 10.0
  assert compression.bytes_at_quality(points[:1], 0.75) is None


def test_keep_top_atoms_keeps_the_most_used_atoms_whole():
  code = np.zeros((1, 6, 4), np.float32)
  code[0, :, 1] = 0.5                 # atom 1 active at all 6 steps
  code[0, :3, 2] = 2.0                # atom 2 at 3 steps, larger
  code[0, 3:5, 3] = -5.0              # atom 3 at 2 steps
  code[0, 5, 0] = 1.0                 # atom 0 once
  one = np.asarray(codes.keep_top_atoms(jnp.asarray(code), 1))
  np.testing.assert_array_equal(one[0, :, 1], code[0, :, 1])
  assert np.count_nonzero(one) == 6
  two = np.asarray(codes.keep_top_atoms(jnp.asarray(code), 2))
  assert set(np.flatnonzero(np.abs(two[0]).sum(0))) == {1, 2}
  np.testing.assert_array_equal(np.asarray(codes.keep_top_atoms(jnp.asarray(code), 4)), code)


def test_scalars_written_are_read_back(tmp_path):
  writer = metric_writing.MetricWriter(str(tmp_path), enabled=True)
  for step in (1, 2, 3):
    writer.write_scalars(step, {"train/loss": 1.0 / step, "k": 4 - step})
  writer.close()
  scalars = metric_writing.read_scalars(str(tmp_path))
  assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3]
  assert scalars["train/loss"][1][1] == pytest.approx(0.5) and scalars["k"][2] == (3, 1.0)
  # A record cut short by a kill ends the reading of its file; the rest is kept.
  path = next(p for p in os.listdir(tmp_path) if p.startswith("events.out"))
  content = open(tmp_path / path, "rb").read()
  open(tmp_path / path, "wb").write(content[:-5])
  assert metric_writing.read_scalars(str(tmp_path))["train/loss"][:2] == scalars["train/loss"][:2]


def test_any_phase_windows_start_off_the_beat():
  pieces = types.SimpleNamespace(data=np.zeros((300, 3), np.float32), lengths=np.array([100, 200]))
  config = ml_collections.ConfigDict({"window": 16, "train_hop": 8, "phase": "beat"})
  beat = data.training_pool(config, pieces)
  np.testing.assert_array_equal(np.asarray(beat.starts), np.concatenate(
      [np.arange(0, 85, 8), 100 + np.arange(0, 185, 8)]))
  np.testing.assert_array_equal(np.asarray(data.evaluation_pool(config, pieces).starts),
                                np.concatenate([np.arange(0, 85, 16), 100 + np.arange(0, 185, 16)]))
  config.phase = "any"
  assert len(data.training_pool(config, pieces).starts) == 85 + 185
  shifted = np.asarray(data.evaluation_pool(config, pieces).starts)
  assert len(shifted) == 6 + 12 and np.any(shifted % 4 != 0)
  first, second = shifted[:6], shifted[6:]
  assert np.all(first + 16 <= 100) and np.all((second >= 100) & (second + 16 <= 300))
  np.testing.assert_array_equal(shifted, np.asarray(data.evaluation_pool(config, pieces).starts))


def test_bad_phase_and_noise_fractions_are_refused(tmp_path):
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache")
  config.data.phase = "offbeat"
  with pytest.raises(config_checks.ConfigError, match="config.data.phase = 'offbeat'"):
    tcn_config_checks.validate(config)
  config.data.phase = "beat"
  config.train.corruption.drop = 1.5
  with pytest.raises(config_checks.ConfigError, match="train.corruption.drop = 1.5"):
    tcn_config_checks.validate(config)


def test_denoising_training_sees_corrupted_inputs(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False)
  plain = tiny_groove_config(tmp_path / "groove", tmp_path / "cache", steps=2)
  noisy = tiny_groove_config(tmp_path / "groove", tmp_path / "cache", steps=2)
  noisy.train.corruption.drop = noisy.train.corruption.add = 0.5
  a = train.train_and_evaluate(plain, str(tmp_path / "plain"))
  b = train.train_and_evaluate(noisy, str(tmp_path / "noisy"))
  leaves = lambda result: jax.tree_util.tree_leaves(result.state["params"])
  assert any(not np.allclose(x, y) for x, y in zip(leaves(a), leaves(b)))
  # Without noise the same config trains to the same parameters (the noise key is separate).
  again = train.train_and_evaluate(plain, str(tmp_path / "again"))
  for x, y in zip(leaves(a), leaves(again)):
    np.testing.assert_array_equal(x, y)


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


def test_token_cleaning_edits_the_tokens_the_model_does_not_support():
  tokens = np.array([[1, 2, 3, 4]])
  support = np.array([[0.9, 0.1, 0.8, 0.05]])
  predicted = np.array([[1, 7, 3, 9]])
  np.testing.assert_array_equal(cleaning.token_edit(tokens, support, predicted, 0.2),
                                [[1, 7, 3, 9]])
  np.testing.assert_array_equal(cleaning.token_edit(tokens, support, predicted, 0.0), tokens)


@pytest.mark.parametrize("variant,channels", [("", 388), ("authors", 1)])
def test_token_cleaning_on_a_random_model(variant, channels):
  from configs import maestro as maestro_config  # pylint: disable=import-outside-toplevel
  config = maestro_config.get_config(variant)
  config.model.num_atoms, config.model.tcn_features = 12, (4,)
  config.model.k.k_start = config.model.k.k_end = 3
  config.data.window, config.batch_size = 16, 4
  net = train.build_model(config, channels)
  trained = types.SimpleNamespace(net=net, params=train.create_state(config, net)["params"], k=3)
  windows = np.random.default_rng(0).integers(0, 388, (40, 16)).astype(np.int16)
  result = cleaning.measure(config, trained, windows, windows[:20], 4)
  assert result["tokens"] and set(result["conditions"]) == {"replaced 10%", "replaced 20%"}
  row = result["conditions"]["replaced 20%"]
  assert row["corrupted input"] == pytest.approx(1 - 0.2 * 387 / 388, abs=0.05)
  assert 0 <= row["auroc true vs replaced"] <= 1 and 0 <= row["model output"] <= 1
  # The chosen threshold never does worse on validation than leaving the input alone.
  assert row["thresholds"]["validation_accuracy"] >= 0.75


def test_editing_with_low_zero_and_high_above_one_leaves_the_input_alone():
  played = _grid()
  scores = np.where(played, -0.3, 0.2)   # an MSE output can score a played note below 0
  np.testing.assert_array_equal(cleaning.edit(played, scores, 0.0, 1.01), played)
  np.testing.assert_array_equal(cleaning.edit(played, scores, 0.05, 1.01), np.zeros_like(played))


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
