"""tcn_wta.applications.cleaning: pooled F1, the bar-repetition filter, editing and token
cleaning."""

import types

import numpy as np
import pytest

from tcn_wta.applications import cleaning
from tcn_wta.training import train
from tests.tcn_wta import made_up


def test_pooled_f1_and_the_bar_repetition_filter():
  played = made_up.grid()
  assert cleaning.pooled_f1(played, played) == 1.0
  assert cleaning.pooled_f1(np.zeros_like(played), np.zeros_like(played)) == 1.0
  assert cleaning.pooled_f1(played[..., :1], played[..., :1] | True) == pytest.approx(
      2 * 4 / (4 + 16))
  counts = cleaning.bar_counts(played, 4)
  assert counts[0, 0, 0] == counts[0, 4, 0] == 2 and counts[0, 1, 1] == 1
  kept = cleaning.bar_repetition_filter(played, 4)
  np.testing.assert_array_equal(kept, played & (np.arange(2) == 0))


def test_editing_and_scores_of_a_model_that_knows_the_clean_grid():
  clean = made_up.grid()
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
  clean = made_up.grid()
  scores = np.zeros(clean.shape)
  scores[:, [0, 4], 0] = 1.0      # the model plays only the recurring notes
  velocities = np.where(clean, 0.3, 0.0)
  velocities[:, [0, 4], 0] = 0.9
  out = cleaning.clean_breakdown(scores, clean, velocities, 4)
  assert out["recall recurring"] == 1.0 and out["recall one-off"] == 0.0
  assert out["recurring share"] == pytest.approx(4 / 6) and out["recall"] == pytest.approx(4 / 6)
  assert out["recall loud"] == 1.0 and out["recall soft"] == 0.0


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
  played = made_up.grid()
  scores = np.where(played, -0.3, 0.2)   # an MSE output can score a played note below 0
  np.testing.assert_array_equal(cleaning.edit(played, scores, 0.0, 1.01), played)
  np.testing.assert_array_equal(cleaning.edit(played, scores, 0.05, 1.01), np.zeros_like(played))
