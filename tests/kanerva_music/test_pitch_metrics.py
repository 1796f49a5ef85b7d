"""kanerva_music.evaluation.pitch_metrics: accuracies and the NLL against hand counts."""

import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.data import episodes
from kanerva_music.evaluation import pitch_metrics


def test_iteration_metrics_against_hand_counts():
  target = episodes.normalise(np.full((1, 1, 4), 60.0))  # [M, T, C]
  semitone = 2 / 45
  # One iterate: errors of 0, 1, 2 and 3 semitones on the four entries; entry 3 is not scored.
  iterate = target + semitone * np.array([0, 1, 2, 3])
  scored = np.array([True, True, True, False])
  metrics = pitch_metrics.iteration_metrics(jnp.asarray(target), jnp.asarray(iterate[None]),
                                       jnp.asarray(scored))
  assert float(metrics["acc_exact"][0]) == pytest.approx(1 / 3)
  assert float(metrics["acc_1"][0]) == pytest.approx(2 / 3)
  assert float(metrics["acc_2"][0]) == pytest.approx(1.0)
  assert float(metrics["mse"][0]) == pytest.approx((0 + 1 + 4) * semitone**2 / 3, rel=1e-5)


def test_categorical_sums_and_means_against_hand_counts():
  targets = jnp.asarray([[[10, 20, 30, 40]]])           # [T=1, S=1, 4]
  predictions = jnp.asarray([[[10, 21, 32, 0]]])        # off by 0, 1, 2 and 40
  scored = jnp.asarray([[[True, True, True, False]]])
  logits = jnp.zeros((1, 1, 4, 46))                     # uniform: log 46 nats a note
  sums = pitch_metrics.categorical_sums(targets, predictions, logits, scored)
  assert float(sums["count"]) == 3 and float(sums["acc_exact"][0]) == 1
  means = pitch_metrics.categorical_means(sums)
  assert means["acc_exact"] == [pytest.approx(1 / 3)]
  assert means["acc_1"] == [pytest.approx(2 / 3)] and means["acc_2"] == [pytest.approx(1.0)]
  assert means["nll"] == pytest.approx(np.log(46.0), rel=1e-6)
  # Per voice (S A T B): the soprano exact, alto and tenor not, the bass not scored.
  assert np.asarray(sums["exact_by_voice"]).tolist() == [1, 0, 0, 0]
  assert np.asarray(sums["count_by_voice"]).tolist() == [1, 1, 1, 0]
  assert means["acc_exact_by_voice"] == [1.0, 0.0, 0.0, None]
