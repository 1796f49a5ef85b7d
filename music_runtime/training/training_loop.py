"""The training loop both trainers run: resume, step, log, evaluate, checkpoint, NaN guard.

A trainer builds its jitted step and initial state; `run` restores the latest checkpoint in the
workdir (falling back past a corrupt one), takes the remaining steps, logs the step's scalars
with steps/s and ETA every `log_every` steps, calls `evaluate` every `eval_every` steps,
checkpoints every `checkpoint_every` steps and at the end, and stops with NonFiniteLossError (naming the last finite
checkpoint) when the loss is not finite. `heartbeat` is called after every step (watchdog.py).
"""

import time
from typing import Any, Callable, NamedTuple, Optional

from absl import logging
import jax
from ml_collections import ConfigDict

from music_runtime.files import metric_writing
from music_runtime.files import workdir_utils
from music_runtime.training import checkpointing
from music_runtime.training import sharding


def prepare(config: ConfigDict, workdir: str, *, validate: Callable, load_data: Callable,
            check_resume: Callable) -> tuple[jax.sharding.Mesh, Any, Any]:
  """The start both trainers share; nothing is written until every check has passed.

  Validates `config`, builds the mesh of `config.mesh_devices` and checks that it splits
  `config.batch_size`, loads the data (`load_data(config) -> (data, provenance.DataSource)`),
  refuses a workdir trained under another config or data (`check_resume(config, workdir,
  provenance_record)`), then writes `config.json` with the data's provenance.

  Returns:
    (mesh, data, source): the device mesh, what `load_data` returned, and its DataSource.
  """
  validate(config)
  mesh = sharding.make_mesh(config.mesh_devices)
  sharding.check_divisible(config.batch_size, mesh, "batch_size")
  data, source = load_data(config)
  check_resume(config, workdir, source.record())
  workdir_utils.write_config_json(config, workdir, source.record())
  logging.info("Data: %s", source.line())
  return mesh, data, source


class Trained(NamedTuple):
  state: Any             # the final train state
  start_step: int        # the step training resumed from (0 for a fresh run)
  train_seconds: float   # wall time of the steps taken here, compilation included


def run(*, workdir: str, initial_state: Any, step_fn: Callable, num_steps: int, log_every: int,
        checkpoint_every: int, keep: int, mesh: jax.sharding.Mesh,
        writer: metric_writing.MetricWriter, evaluate: Optional[Callable] = None,
        eval_every: int = 0, nan_hint: str = "",
        heartbeat: Callable[[str], None] = lambda what: None,
        extra_scalars: Optional[Callable[[int], dict]] = None) -> Trained:
  """Trains `initial_state` to step `num_steps`, resuming from `workdir`.

  step_fn(state, step) -> (state, scalars) takes training step `step` (1-based); scalars must
  hold "loss". evaluate(state, step) -> {name: value}, if given, runs every `eval_every` steps
  before the last (the trainer evaluates the final state itself). extra_scalars(step) adds
  scalars to each log line (e.g. the k of a schedule).
  """
  mngr = checkpointing.manager(workdir, keep=keep)
  state, restored = checkpointing.restore_latest(mngr, sharding.put_replicated(initial_state,
                                                                               mesh))
  start = int(state["step"])
  if restored is not None:
    logging.info("Resumed from %s at step %d", workdir, start)
  barrier = sharding.step_barrier(mesh)
  progress = metric_writing.Progress(num_steps, start)
  begin = time.time()
  try:
    for step in range(start + 1, num_steps + 1):
      state, scalars = barrier(step_fn(state, step))
      heartbeat(f"training step {step}")
      last = step == num_steps
      if step % log_every == 0 or last:
        workdir_utils.check_finite(scalars["loss"], step, mngr, nan_hint)
        logged = {f"train/{name}": value for name, value in scalars.items()}
        logged.update(extra_scalars(step) if extra_scalars else {})
        writer.write_scalars(step, {**logged, **progress.report(step)})
      if evaluate is not None and eval_every and step % eval_every == 0 and not last:
        writer.write_scalars(step, evaluate(state, step))
      if step % checkpoint_every == 0 or last:
        workdir_utils.check_finite(scalars["loss"], step, mngr, nan_hint)
        checkpointing.save(mngr, step, state, force=True)
    mngr.wait_until_finished()
  finally:
    mngr.close()
  return Trained(jax.block_until_ready(state), start, time.time() - begin)
