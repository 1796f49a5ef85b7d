"""TCN k-WTA cleaning, compression baselines, the paper's top-N atoms and the ablations, each on
made-up data where the answer is known."""

import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from music_runtime.running import config_checks
from tcn_wta.applications import codes
from tcn_wta.datasets import data
from tcn_wta.training import config_checks as tcn_config_checks
from tcn_wta.training import train
from tests.conftest import tiny_groove_config
from tests.conftest import write_fake_groove


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
