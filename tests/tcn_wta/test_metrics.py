"""tcn_wta.training.metrics: F1 and the drum, roll and event metrics against hand counts."""

import jax.numpy as jnp
import numpy as np
import pytest

from tcn_wta.datasets import groove
from tcn_wta.training import metrics


def test_f1_against_hand_counts_and_both_empty():
  predicted = jnp.asarray([True, True, False, False])
  actual = jnp.asarray([True, False, True, False])
  assert float(metrics.f1(predicted, actual)) == pytest.approx(0.5)  # 2 * 1 / (2 + 2)
  assert float(metrics.f1(jnp.zeros(3, bool), jnp.zeros(3, bool))) == 1.0


def test_drum_metrics_score_velocity_and_offset_on_the_true_hits_only():
  n = groove.NUM_CLASSES
  target = np.zeros((1, 2, 3 * n), np.float32)
  target[0, 0, 0], target[0, 0, n], target[0, 0, 2 * n] = 1.0, 0.8, 0.1    # one hit
  recon = np.zeros_like(target)
  recon[0, 0, 0], recon[0, 0, n], recon[0, 0, 2 * n] = 0.9, 0.5, -0.1    # found, off a bit
  recon[0, 1, 1], recon[0, 1, n + 1] = 0.7, 1.0                           # a false hit
  got = metrics.drum_metrics(jnp.asarray(recon), jnp.asarray(target))
  assert float(got["hit_f1"]) == pytest.approx(2 / 3)
  assert float(got["velocity_mae"]) == pytest.approx(0.3, rel=1e-6)
  assert float(got["offset_mae"]) == pytest.approx(0.2, rel=1e-6)


def test_roll_and_event_metrics():
  target = jnp.asarray([[0.0, 1.0], [1.0, 0.0]])
  got = metrics.roll_metrics(jnp.asarray([[0.2, 0.9], [0.4, 0.0]]), target)
  assert float(got["roll_f1"]) == pytest.approx(2 / 3)
  assert float(got["mse"]) == pytest.approx((0.04 + 0.01 + 0.36) / 4, rel=1e-6)
  logits = jnp.asarray([[[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]])
  one_hot = jnp.asarray([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
  assert float(metrics.event_metrics(logits, one_hot)["event_accuracy"]) == 0.5
