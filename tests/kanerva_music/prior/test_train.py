"""kanerva_music.prior.train: the best parameters by validation NLL, and a reader of them beside
a trainer."""

import json
import os
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.prior import train as prior_train
from music_runtime.files import atomic
from music_runtime.files import metric_writing
from music_runtime.training import checkpointing


def test_the_report_keeps_the_parameters_with_the_lowest_validation_nll(trained_prior):
  workdir, _ = trained_prior
  best = json.load(open(os.path.join(workdir, "best.json")))
  logged = dict(metric_writing.read_scalars(workdir)["validation/nll_per_hidden_note"])
  assert best["step"] == min(logged, key=logged.get)
  assert best["validation_nll"] == pytest.approx(logged[best["step"]], rel=1e-6)
  assert sorted(os.listdir(os.path.join(workdir, "best"))) == [str(best["step"])]


def test_a_reader_waits_for_best_json_to_follow_the_best_parameters(tmp_path):
  params = {"w": jnp.arange(3.0)}
  keeper = prior_train.BestKeeper(str(tmp_path))
  assert keeper.offer(1, 2.0, params)
  # The trainer's next best: best/ holds step 2 before best.json says so.
  mngr = checkpointing.manager(str(tmp_path), keep=1, folder=prior_train.BEST_FOLDER)
  checkpointing.save(mngr, 2, {"w": jnp.arange(3.0) + 1}, force=True)
  mngr.wait_until_finished()
  mngr.close()
  record = str(tmp_path / prior_train.BEST_RECORD)
  later = threading.Timer(0.5, atomic.write_json, (record, {"step": 2, "validation_nll": 1.0}))
  later.start()
  restored, best = prior_train.restore_best(str(tmp_path), params)
  later.join()
  assert best["step"] == 2 and restored["w"].tolist() == [1.0, 2.0, 3.0]
  atomic.write_json(record, {"step": 7, "validation_nll": 1.0})  # never follows
  with pytest.raises(FileNotFoundError, match="names step 7 but .* holds 2"):
    prior_train.restore_best(str(tmp_path), params, settle_seconds=0.3)


@pytest.mark.parametrize("memory_rows", [4, 0])
def test_the_steps_two_programs_take_the_same_step_as_one(memory_rows):
  from configs import chorales  # pylint: disable=import-outside-toplevel
  from kanerva_music.prior import memory_context  # pylint: disable=import-outside-toplevel
  from kanerva_music.tools import prior_benchmark  # pylint: disable=import-outside-toplevel
  from music_runtime.training import sharding  # pylint: disable=import-outside-toplevel
  config = chorales.get_config("prior_quick")
  config.prior.width, config.prior.depth, config.batch_size = 8, 2, 4
  config.prior.memory_rows, config.prior.memory_slots = memory_rows, 6
  net = prior_train.make_net(config)
  pool = prior_benchmark.synthetic_pool(np.random.default_rng(0), config.data.episode_steps,
                                        num_chorales=4)
  grid = jax.device_put(memory_context.chorale_grid(pool)) if memory_rows else None
  step = prior_train.make_train_step(config, net, jnp.asarray([[0] * 4, [45] * 4]),
                                     sharding.make_mesh(1))
  assert step.split  # prior_quick's choice
  state, rng = prior_train.create_state(config, net), jax.random.PRNGKey(2)
  notes, mask, context, _ = step.sample(state["step"], pool, grid, rng)
  assert (context is None) == (memory_rows == 0)
  split, fused = state, state
  for _ in range(2):
    split, split_metrics = step.two_programs(split, pool, grid, rng)
    fused, fused_metrics = step.fused(fused, pool, grid, rng)
  assert int(split["step"]) == 2 and notes.shape == mask.shape == (4, 32, 4)
  for a, b in zip(jax.tree_util.tree_leaves((split, split_metrics)),
                  jax.tree_util.tree_leaves((fused, fused_metrics))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
