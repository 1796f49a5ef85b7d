"""Config checks both programs share: ranges, choices, and refusing to resume a workdir under
a different config.

A failed or mistyped run must never damage a trained workdir: each program validates its config
(types, ranges, choices) and loads its data before `config.json` is written, and a workdir that
holds checkpoints refuses a config that differs from the one it was trained with, except for the
fields the program lists as safe to change (training length, logging, evaluation, data paths).
"""

import json
import os

import ml_collections


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


def check_resume(config, workdir, safe_to_change, added_defaults=None):
  """Refuses to resume `workdir` (one with checkpoints) under a config that differs."""
  path = os.path.join(workdir, "config.json")
  checkpoints = os.path.join(workdir, "checkpoints")
  if not (os.path.exists(path) and os.path.isdir(checkpoints) and os.listdir(checkpoints)):
    return
  with open(path) as f:
    saved = json.load(f)
  diff = differing_keys(config, saved, safe_to_change, added_defaults)
  if diff:
    listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in list(diff.items())[:6])
    more = f" and {len(diff) - 6} more" if len(diff) > 6 else ""
    raise ConfigError(
        f"{workdir} holds a run trained with another config ({listed}{more}); nothing was "
        "written. Use a new --workdir, or change only fields that are safe to change: "
        + ", ".join(safe_to_change))
