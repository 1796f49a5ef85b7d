"""kanerva_music.evaluation: masks, the pitch metrics, the sharded reads and what a trained memory
recalls."""

import json
import os

import numpy as np
import pytest

from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import sharded_reads
from kanerva_music.memory import dkm
from music_runtime.running import config_checks
from tests.conftest import tiny_config


def test_masks_hide_the_right_steps_and_fractions():
  rng = np.random.default_rng(0)
  half = evaluate.observation_mask("half", 3, 32, rng)
  assert half.shape == (3, 128)
  step = np.arange(128) // 4
  np.testing.assert_array_equal(half[1], step < 16)
  np.testing.assert_array_equal(evaluate.observation_mask("three_quarters", 1, 32, rng)[0],
                                step < 8)
  random = evaluate.observation_mask("random_75", 5, 32, rng)
  np.testing.assert_array_equal((random == 0).sum(axis=1), [96] * 5)
  assert not np.array_equal(random[0], random[1])  # one mask per memory
  with pytest.raises(ValueError, match="Unknown mask 'left'"):
    evaluate.observation_mask("left", 1, 32, rng)


@pytest.mark.parametrize("read", ["lstsq", "svd"])
def test_unmasked_read_equals_zero_filled_full_read(read):
  rng = np.random.default_rng(1)
  mean = rng.normal(size=(1, 4, 16)).astype(np.float32)
  memories = {"memory": dkm.Memory(mean=mean, cov=np.eye(4, dtype=np.float32)[None]),
              "values": np.zeros((1, 3, 16), np.float32)}
  x = rng.normal(size=(1, 3, 16)).astype(np.float32)
  mask = np.ones((1, 16), np.float32)
  mask[:, 8:] = 0
  config = tiny_config("").model
  config.read_method = read  # the unmasked read uses the model's headline read
  _, iterates = sharded_reads.read_and_score(memories, x, x, mask, num_iters=2, method="unmasked",
                                        model_config=config_checks.freeze(config))
  zero_filled = np.where(mask[:, None] != 0, x, 0)
  expected = dkm.iterate_read(dkm.Memory(mean[0], np.eye(4, dtype=np.float32)), zero_filled[0],
                              None, num_iters=2, obs_noise_std=config.obs_noise_std,
                              method=read)
  np.testing.assert_allclose(np.asarray(iterates[0]), zero_filled[0])
  np.testing.assert_allclose(np.asarray(iterates[1:]), np.asarray(expected), rtol=1e-5,
                             atol=1e-6)


def test_a_tiny_trained_memory_recalls_stored_episodes_better_than_unseen(reported_workdir):
  """The default model (U0 fixed, posterior read address) with the lstsq read: half-masked
  stored episodes come back far better than unseen ones, and better than holding the last
  chord."""
  _, workdir, _, _ = reported_workdir
  saved = json.load(open(os.path.join(workdir, "report.json")))
  half = saved["complete"]["half"]["lstsq"]
  recall, novel = half["recall"]["acc_exact"][-1], half["novel"]["acc_exact"][-1]
  assert recall > novel + 0.2, (recall, novel)
  assert recall > saved["baselines"]["half"]["hold_last_chord"]["recall"]["acc_exact"]
  for by_query in saved["complete"]["half"].values():
    for lists in by_query.values():
      assert all(np.isfinite(lists[m]).all() for m in pitch_metrics.METRICS)


