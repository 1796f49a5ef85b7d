"""Config files loaded by path, so that library code never imports the `configs/` package."""

import importlib.util
import os


def load_module(path):
  """The Python module defined by the config file at `path` (its get_config(), get_sweep())."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: no such config file")
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load(spec: str):
  """The config of "path/to/file.py[:variant]", as `config_flags` reads a --config flag."""
  path, _, variant = spec.partition(":")
  module = load_module(path)
  return module.get_config(variant) if variant else module.get_config()
