"""music_runtime.training.training_loop: steps, evaluations, checkpoints, resume, the NaN guard."""

import os

import jax.numpy as jnp
import optax
import pytest

from music_runtime.files import metric_writing
from music_runtime.files import workdir_utils
from music_runtime.training import checkpointing
from music_runtime.training import sharding
from music_runtime.training import training_loop


def _run(workdir, num_steps, losses=None, evaluated=None):
  """A counter for a model: each step adds 1 to w; the loss is w (or losses[step])."""
  def step_fn(state, step):
    new = {"w": state["w"] + 1.0, "step": state["step"] + 1}
    loss = losses[step] if losses else new["w"]
    return new, {"loss": loss}

  def evaluate(state, step):
    evaluated.append((step, float(state["w"])))
    return {"validation/w": float(state["w"])}

  writer = metric_writing.MetricWriter(workdir)
  try:
    return training_loop.run(
        workdir=workdir, initial_state={"w": jnp.zeros(()), "step": jnp.asarray(0, jnp.int32)},
        step_fn=step_fn, num_steps=num_steps, log_every=1, checkpoint_every=2, keep=2,
        mesh=sharding.make_mesh(1), writer=writer,
        evaluate=evaluate if evaluated is not None else None, eval_every=3)
  finally:
    writer.close()


def test_steps_checkpoints_and_a_resume_that_continues_where_it_stopped(tmp_path):
  evaluated = []
  first = _run(str(tmp_path), 5, evaluated=evaluated)
  assert float(first.state["w"]) == 5 and first.start_step == 0
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["4", "5"]  # every 2, the end; keep 2
  assert evaluated == [(3, 3.0)]  # every 3 steps, not the last (the trainer evaluates that)
  resumed = _run(str(tmp_path), 8, evaluated=evaluated)
  assert resumed.start_step == 5 and float(resumed.state["w"]) == 8
  assert evaluated == [(3, 3.0), (6, 6.0)]
  assert workdir_utils.latest_checkpoint_step(str(tmp_path)) == 8


def test_a_nan_loss_stops_training_and_keeps_the_last_finite_checkpoint(tmp_path):
  with pytest.raises(workdir_utils.NonFiniteLossError,
                     match="Loss is nan at step 1. Training stopped; no checkpoint was written"):
    _run(str(tmp_path / "a"), 4, losses={1: float("nan")})
  assert not os.listdir(tmp_path / "a" / "checkpoints")
  losses = {1: 1.0, 2: 1.0, 3: float("inf"), 4: 1.0}
  with pytest.raises(workdir_utils.NonFiniteLossError,
                     match="Loss is inf at step 3. Training stopped; the latest finite "
                           "checkpoint is step 2"):
    _run(str(tmp_path / "b"), 4, losses=losses)
  assert os.listdir(tmp_path / "b" / "checkpoints") == ["2"]


def _saved_checkpoint(workdir, state, step=5):
  mngr = checkpointing.manager(str(workdir))
  checkpointing.save(mngr, step, state, force=True)
  mngr.wait_until_finished()
  mngr.close()
  return os.path.join(str(workdir), "checkpoints", str(step))


def test_a_checkpoint_of_another_shape_is_refused_and_never_moved_aside(tmp_path):
  params = {"rows": jnp.zeros((32, 4)), "head": {"bias": jnp.ones(3)}}
  state = {"params": params, "opt_state": optax.adam(1e-3).init(params)}
  path = _saved_checkpoint(tmp_path, state)
  mngr = checkpointing.manager(str(tmp_path))
  restored, step = checkpointing.restore_latest(mngr, state)
  assert step == 5
  other = dict(params, rows=jnp.zeros((16, 4)))
  with pytest.raises(checkpointing.CheckpointMismatchError,
                     match=r"stores opt_state/0/mu/rows with shape \(32, 4\) where the config "
                           r"builds \(16, 4\)"):
    checkpointing.restore_latest(mngr, {"params": other,
                                        "opt_state": optax.adam(1e-3).init(other)})
  with pytest.raises(checkpointing.CheckpointMismatchError, match="has no extra"):
    checkpointing.restore_latest(mngr, dict(state, extra=jnp.zeros(2)))
  mngr.close()
  assert os.listdir(os.path.join(str(tmp_path), "checkpoints")) == ["5"] and os.path.isdir(path)

