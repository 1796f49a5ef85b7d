"""tcn_wta.training.train: the atoms projected, resume equal to a straight run, one step an
Adam step on every representation, the authors' variant's parameters."""

import jax
import numpy as np
import pytest

from music_runtime.training import sharding
from tcn_wta.training import train
from tests.conftest import tiny_groove_config
from tests.conftest import write_fake_groove


def test_training_projects_atoms_and_resume_equals_straight_run(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False)
  straight = train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 4),
                                      str(tmp_path / "a"))
  train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 2),
                           str(tmp_path / "b"))
  resumed = train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 4),
                                     str(tmp_path / "b"))
  for a, b in zip(jax.tree_util.tree_leaves(straight.state),
                  jax.tree_util.tree_leaves(resumed.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  atoms = np.asarray(straight.state["params"]["dictionary"])
  assert np.all(np.sqrt(np.sum(atoms**2, axis=(1, 2))) <= 1 + 1e-6)
  assert straight.k == 1
  for split in ("validation", "test"):
    assert 0 <= straight.metrics[split]["hit_f1"] <= 1


@pytest.mark.parametrize("config_name,variant,channels", [("maestro", "", 388),
                                                          ("maestro", "authors", 1),
                                                          ("corpus", "", 88)])
def test_one_step_on_events_and_rolls_is_an_adam_step(config_name, variant, channels):
  import importlib  # pylint: disable=import-outside-toplevel
  from tcn_wta.tools import benchmark  # pylint: disable=import-outside-toplevel
  config = importlib.import_module(f"configs.{config_name}").get_config(variant)
  config.model.num_atoms, config.model.tcn_features = 12, (4, 6)
  config.model.k.k_start = config.model.k.k_end = 3
  config.data.window, config.data.train_hop, config.batch_size = 16, 4, 2
  net = train.build_model(config, channels)
  state = train.create_state(config, net)
  pool = benchmark.synthetic_pool(config, channels, np.random.default_rng(0), num_rows=200)
  step_fn = train.make_train_step(config, net, sharding.make_mesh(1))
  new_state, scalars = step_fn(state, pool, jax.random.PRNGKey(0), 3)
  assert np.isfinite(float(scalars["loss"]))
  moved = jax.tree_util.tree_map(lambda a, b: np.abs(np.asarray(a) - np.asarray(b)),
                                 new_state["params"], state["params"])
  for path, step in jax.tree_util.tree_leaves_with_path(moved):
    if "dictionary" not in jax.tree_util.keystr(path):  # the dictionary is also projected
      # Adam's first step is lr * g / (|g| + eps): never above lr, and lr wherever |g| >> eps.
      assert step.max() <= config.learning_rate * 1.0001, path
      assert np.mean(np.isclose(step[step > 0], config.learning_rate, rtol=1e-2)) > 0.9, path
  atoms = np.asarray(new_state["params"]["dictionary"])
  assert np.all(np.sqrt(np.sum(atoms**2, axis=(1, 2))) <= 1 + 1e-6)
  metric = "event_accuracy" if config_name == "maestro" else "roll_f1"
  assert 0 <= float(scalars[metric]) <= 1


def test_the_authors_one_channel_variant_counts_its_parameters_by_hand():
  from configs import maestro as maestro_config  # pylint: disable=import-outside-toplevel
  from tcn_wta.applications import analysis  # pylint: disable=import-outside-toplevel
  config = maestro_config.get_config("authors")

  def block(n_in, n_out, k=3):  # two dilated convolutions, and a 1x1 convolution on the skip
    return k * n_in * n_out + n_out + k * n_out * n_out + n_out + (n_in * n_out + n_out)

  tcn = block(1, 8) + block(8, 16) + block(16, 32)
  expected = tcn + (4 * 32 * 1000 + 1000) + 1000 * 4 * 1   # atoms conv, then the dictionary
  assert analysis.parameter_count(config, 1) == expected == 139792
  assert analysis.authors_variant_size(maestro_config.get_config()) == {
      "parameters": expected, "float64_bytes": 8 * expected}
