"""The training binary's library: one step, resume, NaN guard, config errors, evaluation."""

import json
import os
import subprocess
import sys

from absl import flags
import jax
import numpy as np
import pytest
from ml_collections import config_flags

from configs import chorales as chorales_config
from kanerva_music.training import train
from tests.conftest import tiny_config

CONFIG_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "chorales.py")


def test_one_step_is_an_adam_step_and_writes_the_workdir(tiny_chorale_npz, tmp_path):
  config = tiny_config(tiny_chorale_npz, num_train_steps=1)
  result = train.train_and_evaluate(config, str(tmp_path))
  initial = train.create_state(config, train.load_pools(config)[0])["params"]
  # Adam's first update is -lr * sign(gradient) (up to eps) on every parameter.
  for name, value in result.state["params"].items():
    step_size = np.abs(np.asarray(value) - np.asarray(initial[name]))
    assert np.allclose(step_size[step_size > 0], config.learning_rate, rtol=1e-3), name
  assert int(result.state["step"]) == 1
  assert json.load(open(tmp_path / "config.json"))["model"]["num_rows"] == 4
  assert os.path.isdir(tmp_path / "checkpoints" / "1")
  for split in ("test", "validation"):
    assert np.isfinite(result.elbo_bits_per_dim[split]["mean"])
    assert result.elbo_bits_per_dim[split]["stderr"] > 0


def test_resume_after_interruption_equals_uninterrupted_run(tiny_chorale_npz, tmp_path):
  straight = train.train_and_evaluate(tiny_config(tiny_chorale_npz, 4), str(tmp_path / "a"))
  train.train_and_evaluate(tiny_config(tiny_chorale_npz, 2), str(tmp_path / "b"))
  resumed = train.train_and_evaluate(tiny_config(tiny_chorale_npz, 4), str(tmp_path / "b"))
  leaves_a = jax.tree_util.tree_leaves(straight.state)
  leaves_b = jax.tree_util.tree_leaves(resumed.state)
  assert len(leaves_a) == len(leaves_b)
  for a, b in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert straight.elbo_bits_per_dim == resumed.elbo_bits_per_dim


def test_evaluate_checkpoint_reproduces_final_evaluation(tiny_chorale_npz, tmp_path):
  config = tiny_config(tiny_chorale_npz, 2)
  trained = train.train_and_evaluate(config, str(tmp_path))
  evaluated = train.evaluate_checkpoint(config, str(tmp_path))
  assert evaluated.elbo_bits_per_dim == trained.elbo_bits_per_dim


def test_eval_of_untrained_workdir_is_a_clear_error(tiny_chorale_npz, tmp_path):
  with pytest.raises(FileNotFoundError, match="No checkpoint in .*train first"):
    train.evaluate_checkpoint(tiny_config(tiny_chorale_npz), str(tmp_path))


def test_nan_guard_stops_training_before_saving(tiny_chorale_npz, tmp_path, monkeypatch):
  from music_runtime.running import config_checks  # pylint: disable=import-outside-toplevel
  # The guard, not the config check (which refuses NaN before anything runs).
  monkeypatch.setattr(config_checks, "check_finite", lambda config: None)
  config = tiny_config(tiny_chorale_npz, 2)
  config.model.init_mean_std = float("nan")
  with pytest.raises(train.NonFiniteLossError, match="Loss is nan at step 1"):
    train.train_and_evaluate(config, str(tmp_path))
  assert not os.listdir(tmp_path / "checkpoints")


def parse_config_flags(argv):
  flag_values = flags.FlagValues()
  argv = ["prog"] + argv
  config_flags.DEFINE_config_file("config", None, "", flag_values=flag_values, lock_config=True,
                                  sys_argv=argv)
  flag_values(argv)
  return flag_values.config


def test_config_overrides_and_unknown_keys():
  config = parse_config_flags([f"--config={CONFIG_FILE}", "--config.model.num_rows=64"])
  assert config.model.num_rows == 64 and config.num_train_steps == 10_000
  quick = parse_config_flags([f"--config={CONFIG_FILE}:quick"])
  assert quick.num_train_steps < config.num_train_steps
  with pytest.raises(AttributeError, match="Did you mean \"num_rows\""):
    parse_config_flags([f"--config={CONFIG_FILE}", "--config.model.num_rowz=64"])
  with pytest.raises(ValueError, match="Unknown config variant 'fast'"):
    chorales_config.get_config("fast")


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tiny_chorale_npz, tmp_path):
  straight = train.train_and_evaluate(tiny_config(tiny_chorale_npz, 6), str(tmp_path / "a"))
  workdir = tmp_path / "b"
  train.train_and_evaluate(tiny_config(tiny_chorale_npz, 4), str(workdir))
  for root, _, names in os.walk(workdir / "checkpoints" / "4"):
    for name in names:  # truncate every file of the latest checkpoint
      open(os.path.join(root, name), "wb").close()
  resumed = train.train_and_evaluate(tiny_config(tiny_chorale_npz, 6), str(workdir))
  assert os.path.isdir(workdir / "checkpoints" / "4.corrupt")  # kept aside, by path
  for a, b in zip(jax.tree_util.tree_leaves(straight.state),
                  jax.tree_util.tree_leaves(resumed.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


_LAPACK_STEPS = r"""
import jax, numpy as np
from configs import chorales
from kanerva_music.tools import benchmark
from kanerva_music.training import train
from music_runtime.training import sharding
config = chorales.get_config("paper")
config.model.linalg = "lapack"
pool = benchmark.synthetic_pool(np.random.default_rng(0), num_chorales=10)
step = train.make_train_step(config, sharding.make_mesh(1))
state, rng = train.create_state(config), jax.random.PRNGKey(0)
for _ in range(400):  # dispatched without waiting: many batched LAPACK calls in flight
  state, metrics = step(state, pool, rng)
jax.block_until_ready(metrics)
print("done", jax.__version__)
"""


def test_the_lapack_training_step_runs_to_completion_on_the_installed_jax(tmp_path):
  """The batched-LAPACK deadlock of jaxlib 0.10.0-0.11.0 (setup.py excludes them): the
  `linalg="lapack"` reference step, hundreds of steps in flight on XLA:CPU's thread pool,
  finishes under a watchdog on the installed release."""
  root = os.path.join(os.path.dirname(__file__), "..", "..")
  done = subprocess.run([sys.executable, "-c", _LAPACK_STEPS], cwd=root, capture_output=True,
                        text=True, timeout=240)
  assert done.returncode == 0 and done.stdout.startswith("done"), done.stderr[-2000:]
