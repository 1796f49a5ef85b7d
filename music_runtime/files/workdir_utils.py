"""Workdir files shared by both trainers: config.json with the data's provenance, the reports,
JSON read back with one clear line when damaged, and the NaN guard."""

import json
import math
import os
from typing import Any, Optional

import jax
from ml_collections import ConfigDict

from music_runtime.files import atomic
from music_runtime.files import html_report

CONFIG_FILE = "config.json"
PROVENANCE_KEY = "data_provenance"  # config.json's record of the data a run was trained on


class NonFiniteLossError(FloatingPointError):
  """Training produced NaN or inf; the last finite checkpoint is kept."""


class WorkdirFileError(ValueError):
  """A workdir file that cannot be read (truncated, not JSON): named with what to do."""


def write_report(workdir: str, report: dict, markdown_text: str, **json_kwargs: Any) -> None:
  """Writes a run's report.json, REPORT.md and REPORT.html (each atomically)."""
  atomic.write_json(os.path.join(workdir, "report.json"), report, indent=1, **json_kwargs)
  atomic.write_text(os.path.join(workdir, "REPORT.md"), markdown_text)
  html_report.write(markdown_text, workdir)


def read_json(path: str, what: str = "file") -> Any:
  """The JSON in `path`; a damaged file raises WorkdirFileError naming it."""
  try:
    with open(path) as f:
      return json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise WorkdirFileError(f"{path}: this {what} is damaged (not JSON: {e}); restore it from a "
                           "copy, or use a new --workdir") from e


def read_run_record(workdir: str) -> tuple[dict, Optional[dict]]:
  """(the saved config without its data provenance, the provenance or None) of `workdir`'s
  config.json; ({}, None) when there is none."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    return {}, None
  saved = read_json(path, "run's config")
  if not isinstance(saved, dict):
    raise WorkdirFileError(f"{path}: expected a JSON object (a run's config); restore it from "
                           "a copy, or use a new --workdir")
  provenance = saved.pop(PROVENANCE_KEY, None)
  return saved, provenance


def read_config_json(workdir: str) -> dict:
  """The saved config of `workdir` (without its data provenance), or {} when there is none."""
  return read_run_record(workdir)[0]


def write_config_json(config: ConfigDict, workdir: str,
                      provenance: Optional[dict] = None) -> None:
  """Saves the run's full configuration, and the provenance of its data, as
  `workdir/config.json` (process 0 only; atomically)."""
  if jax.process_index() == 0:
    data = json.loads(config.to_json_best_effort())
    if provenance is not None:
      data[PROVENANCE_KEY] = provenance
    atomic.write_json(os.path.join(workdir, CONFIG_FILE), data, indent=2, sort_keys=True)


def latest_checkpoint_step(workdir: str) -> Optional[int]:
  """The highest step saved under `workdir/checkpoints` (Orbax names each step's folder by its
  number), or None."""
  folder = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(folder):
    return None
  steps = [int(name) for name in os.listdir(folder) if name.isdigit()]
  return max(steps) if steps else None


def check_finite(loss: Any, step: int, mngr: Any, hint: str = "") -> None:
  """Raises NonFiniteLossError naming the step and the latest finite checkpoint."""
  loss = float(loss)
  if not math.isfinite(loss):
    latest = mngr.latest_step()
    kept = ("no checkpoint was written" if latest is None
            else f"the latest finite checkpoint is step {latest}")
    raise NonFiniteLossError(f"Loss is {loss} at step {step}. Training stopped; {kept}. "
                             f"{hint}".strip())
