"""Config checks both programs share: ranges, choices, and refusing to resume a workdir under
a different config.

A failed or mistyped run must never damage a trained workdir: each program validates its config
(types, ranges, choices) and loads its data before `config.json` is written, and a workdir that
holds checkpoints refuses a config that differs from the one it was trained with, except for the
fields the program lists as safe to change (training length, logging, evaluation, data paths).
"""

import json
import math
import os

import ml_collections

from music_runtime.files import workdir_utils


class ConfigError(ValueError):
  """A config that cannot run, or that would overwrite a different trained run."""


def freeze(config):
  """A hashable copy of a config, for `jit` static arguments."""
  return ml_collections.FrozenConfigDict(config)


def field(config, name):
  """config.<dotted name>."""
  value = config
  for part in name.split("."):
    value = value[part]
  return value


def at_least(config, name, low, kind=int):
  """Raises ConfigError unless config.<name> is a `kind` >= low."""
  value = field(config, name)
  if not isinstance(value, kind) or isinstance(value, bool) or value < low:
    raise ConfigError(f"config.{name} = {value!r}: expected {kind.__name__} >= {low}")


INT32_MAX = 2 ** 31 - 1  # step counters and sizes are int32 on the accelerators


def at_most(config, name, high):
  """Raises ConfigError unless config.<name> <= high."""
  value = field(config, name)
  if value > high:
    raise ConfigError(f"config.{name} = {value!r}: expected at most {high:,}")


def machine_bytes() -> int:
  """Memory of the first device (its allocator's limit where it reports one), else of the
  host."""
  import jax  # pylint: disable=import-outside-toplevel
  try:
    stats = jax.devices()[0].memory_stats() or {}
  except Exception:  # pylint: disable=broad-except  # backends without memory_stats
    stats = {}
  if stats.get("bytes_limit"):
    return int(stats["bytes_limit"])
  return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_fits(config, arrays) -> None:
  """Raises ConfigError naming the fields of the first array that alone needs more memory
  than this machine has. `arrays`: (what, fields, float32 elements), e.g. ("the training
  batch", ("batch_size", "episodes_per_memory"), 32 * 32 * 128): a lower bound on what a run
  must hold at once, from the config alone, checked before anything is written."""
  have = machine_bytes()
  for what, names, elements in arrays:
    need = 4 * int(elements)
    if need > have:
      fields = ", ".join(f"config.{n} = {field(config, n)!r}" for n in names)
      raise ConfigError(f"{fields}: {what} alone needs {need / 2 ** 30:,.1f} GiB, more than "
                        f"this machine's {have / 2 ** 30:,.1f} GiB")


def one_of(config, name, choices):
  """Raises ConfigError unless config.<name> is one of `choices`."""
  value = field(config, name)
  if value not in choices:
    raise ConfigError(f"config.{name} = {value!r}: expected one of {tuple(choices)}")


def _flatten(tree, prefix=""):
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(_flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def differing_keys(config, saved, safe_to_change, added_defaults=None):
  """{key: (saved, new)} of the fields that differ and are not safe to change. A key that a
  saved config lacks counts as its value in `added_defaults` (fields added to the program later,
  whose default reproduces what older runs did)."""
  new = _flatten(json.loads(config.to_json_best_effort()))
  old = {**(added_defaults or {}), **_flatten(saved)}
  keys = sorted(set(new) | set(old))
  safe = lambda k: any(k == s or (s.endswith(".") and k.startswith(s)) for s in safe_to_change)
  return {k: (old.get(k), new.get(k)) for k in keys
          if not safe(k) and _normal(old.get(k)) != _normal(new.get(k))}


def _normal(value):
  return list(value) if isinstance(value, tuple) else value


def check_program(config, program: str) -> None:
  """Raises ConfigError when `config.program` names another binary than `program`."""
  if config.get("program", program) != program:
    raise ConfigError(f"config.program = {config.program!r}: this config is for "
                      f"python -m {config.program}, not {program}")


def check_finite(config) -> None:
  """Raises ConfigError naming the first float field that is NaN or infinite (a range check
  alone lets NaN through: every comparison with it is False)."""
  for key, value in _flatten(json.loads(config.to_json_best_effort())).items():
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
      if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(f"config.{key} = {value!r}: expected a finite number")


def _has_checkpoints(workdir):
  checkpoints = os.path.join(workdir, "checkpoints")
  return os.path.isdir(checkpoints) and bool(os.listdir(checkpoints))


def _data_line(provenance):
  return (f"{provenance.get('kind')} {provenance.get('path') or ''} (sha256 "
          f"{str(provenance.get('sha256'))[:12]})").replace("  ", " ")


def check_resume(config, workdir, safe_to_change, added_defaults=None, *, provenance=None,
                 evaluating=False, safe_to_evaluate=()):
  """Refuses to resume (or evaluate) `workdir`, one with checkpoints, under a config that differs
  from the one it was trained with, or on other data.

  Training may change only `safe_to_change` and may not ask for fewer steps than the checkpoint
  holds (that would train nothing and rewrite the reports); evaluation may also change
  `safe_to_evaluate` (how the report reads, never what was trained). `provenance` is the data
  just loaded; a run trained on other data is refused naming both. Evaluating a workdir without
  a checkpoint is refused before anything is created."""
  if not _has_checkpoints(workdir):
    if evaluating:
      raise FileNotFoundError(f"No checkpoint in {workdir}: nothing to evaluate; train first "
                              "(--mode=train)")
    return
  saved, saved_data = workdir_utils.read_run_record(workdir)
  if not saved:
    return
  safe = tuple(safe_to_change) + (tuple(safe_to_evaluate) if evaluating else ())
  diff = differing_keys(config, saved, safe, added_defaults)
  if diff:
    listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in list(diff.items())[:6])
    more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
    action = "evaluated" if evaluating else "trained"
    hint = ("; --mode=eval may also change: " + ", ".join(safe_to_evaluate)
            if safe_to_evaluate and not evaluating else "")
    raise ConfigError(
        f"{workdir} holds a run trained with another config ({listed}{more}), so it cannot be "
        f"{action} with this one; nothing was written. Use a new --workdir, or change only "
        "fields that are safe to change: " + ", ".join(safe_to_change) + hint)
  latest = workdir_utils.latest_checkpoint_step(workdir)
  if not evaluating and latest is not None and config.num_train_steps < latest:
    raise ConfigError(
        f"config.num_train_steps = {config.num_train_steps} is below step {latest}, where "
        f"{workdir}'s checkpoint stands: training would do nothing and rewrite its reports; "
        "nothing was written. Evaluate it with --mode=eval, or use a new --workdir")
  if provenance is not None and saved_data and saved_data.get("sha256") != provenance["sha256"]:
    raise ConfigError(
        f"{workdir} was trained on {_data_line(saved_data)}, not on {_data_line(provenance)}; "
        "nothing was written. Point the data flags at the run's data, or use a new --workdir")
