"""Workdir conventions shared by both trainers: config.json and the NaN guard."""

import math
import os

import jax


class NonFiniteLossError(FloatingPointError):
  """Training produced NaN or inf; the last finite checkpoint is kept."""


def write_config_json(config, workdir):
  """Saves the run's full configuration as `workdir/config.json` (process 0 only)."""
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True))


def check_finite(loss, step, mngr, hint=""):
  """Raises NonFiniteLossError naming the step and the latest finite checkpoint."""
  loss = float(loss)
  if not math.isfinite(loss):
    raise NonFiniteLossError(
        f"Loss is {loss} at step {step}. Training stopped; the latest finite checkpoint is step "
        f"{mngr.latest_step()}. {hint}".strip())
