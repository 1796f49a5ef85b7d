"""Checks a DKM config before anything is written, and a resumed run against its workdir.

A failed or mistyped run must never damage a trained workdir: the config is validated (types,
ranges, choices) and the data loaded before `config.json` is written, and a workdir that holds
checkpoints refuses a config that differs from the one it was trained with, except for the
fields in SAFE_TO_CHANGE (training length, logging, evaluation, where the data file lives).
"""

import json
import os

from kanerva_music import model

SAFE_TO_CHANGE = ("num_train_steps", "log_every_steps", "eval_every_steps",
                  "checkpoint_every_steps", "checkpoints_to_keep", "watchdog_seconds",
                  "mesh_devices", "eval.", "data.path", "data.data_dir", "data.download",
                  "data.music21_fallback", "model.linalg")


class ConfigError(ValueError):
  """A config that cannot run, or that would overwrite a different trained run."""


def _field(config, name):
  value = config
  for part in name.split("."):
    value = value[part]
  return value


def at_least(config, name, low, kind=int):
  """Raises ConfigError unless config.<name> is a `kind` >= low."""
  value = _field(config, name)
  if not isinstance(value, kind) or isinstance(value, bool) or value < low:
    raise ConfigError(f"config.{name} = {value!r}: expected {kind.__name__} >= {low}")


def one_of(config, name, choices):
  """Raises ConfigError unless config.<name> is one of `choices`."""
  value = _field(config, name)
  if value not in choices:
    raise ConfigError(f"config.{name} = {value!r}: expected one of {tuple(choices)}")


def validate(config):
  """Raises ConfigError naming the first field that cannot run."""
  for name in ("num_train_steps", "batch_size", "episodes_per_memory", "log_every_steps",
               "eval_every_steps", "checkpoint_every_steps", "checkpoints_to_keep",
               "model.num_rows", "data.episode_steps", "eval.num_iters"):
    at_least(config, name, 1)
  at_least(config, "eval.num_memories", 2)  # a standard error needs two memories
  at_least(config, "mesh_devices", 0)
  for name in ("learning_rate", "model.obs_noise_std", "model.prior_std",
               "model.init_cov_scale", "model.init_address_std"):
    at_least(config, name, 1e-12, float)
  try:
    model.check_model_config(config.model)
  except ValueError as e:
    raise ConfigError(str(e)) from e


def _flatten(tree, prefix=""):
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(_flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def differing_keys(config, saved, safe_to_change=SAFE_TO_CHANGE):
  """{key: (saved, new)} of the fields that differ and are not safe to change."""
  new = _flatten(json.loads(config.to_json_best_effort()))
  old = _flatten(saved)
  keys = sorted(set(new) | set(old))
  safe = lambda k: any(k == s or (s.endswith(".") and k.startswith(s)) for s in safe_to_change)
  return {k: (old.get(k), new.get(k)) for k in keys
          if not safe(k) and _normal(old.get(k)) != _normal(new.get(k))}


def _normal(value):
  return list(value) if isinstance(value, tuple) else value


def check_resume(config, workdir, safe_to_change=SAFE_TO_CHANGE):
  """Refuses to resume `workdir` (one with checkpoints) under a config that differs."""
  path = os.path.join(workdir, "config.json")
  checkpoints = os.path.join(workdir, "checkpoints")
  if not (os.path.exists(path) and os.path.isdir(checkpoints) and os.listdir(checkpoints)):
    return
  with open(path) as f:
    saved = json.load(f)
  diff = differing_keys(config, saved, safe_to_change)
  if diff:
    listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in list(diff.items())[:6])
    more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
    raise ConfigError(
        f"{workdir} holds a run trained with another config ({listed}{more}); nothing was "
        "written. Use a new --workdir, or change only fields that are safe to change: "
        + ", ".join(safe_to_change))
