r"""Expands a config's sweep (its `get_sweep()`) into runs, locally or as a Slurm array job.

  python launch/sweep.py --config=configs/chorales.py --dry_run
  python launch/sweep.py --config=configs/groove.py:quick --runner=local -- \
      --config.data.root=/data/groove
  python launch/sweep.py --config=configs/chorales.py --runner=slurm \
      --sbatch_args="--partition=gpu --time=02:00:00"

Each run gets its own workdir under --root/<config name>/, named after its overrides, so a
re-launched sweep resumes every run from its checkpoints. Flags after `--` go to every run.
--dry_run prints the exact commands (and, for Slurm, the sbatch line) and runs nothing.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

from music_runtime.running import config_files

HERE = os.path.dirname(os.path.abspath(__file__))


def load_config_module(config_arg):
  """(module, variant) of `path/to/config.py[:variant]`, with a clear error for a bad path."""
  path, _, variant = config_arg.partition(":")
  try:
    module = config_files.load_module(path)
  except FileNotFoundError as e:
    raise SystemExit(str(e)) from e
  if not hasattr(module, "get_sweep"):
    raise SystemExit(f"{path} defines no get_sweep(): nothing to sweep")
  return module, variant


def module_for(config, config_arg=""):
  """The binary that trains this config: its `program` field."""
  if "program" not in config:
    raise SystemExit(f"{config_arg}: the config names no program (config.program)")
  return config.program


def _format(value):
  if isinstance(value, (tuple, list)):
    return "(" + ", ".join(_format(v) for v in value) + ("," if len(value) == 1 else "") + ")"
  return str(value)


def _check_key(config, key, config_arg):
  node = config
  for part in key.split("."):
    if not hasattr(node, "keys") or part not in node:
      raise SystemExit(f"{config_arg}: get_sweep() sets unknown config key {key!r}")
    node = node[part]


def run_name(index, overrides):
  parts = [f"{key.split('.')[-1]}={_format(value)}" for key, value in overrides.items()]
  return re.sub(r"[^A-Za-z0-9=._,-]+", "", f"{index:03d}_" + "_".join(parts))


def commands(config_arg, root, extra_flags, python="python"):
  """[(run name, command line)] for every run of the config's sweep."""
  module, variant = load_config_module(config_arg)
  config = module.get_config(variant)
  out = []
  for index, overrides in enumerate(module.get_sweep()):
    for key in overrides:
      _check_key(config, key, config_arg)
    name = run_name(index, overrides)
    workdir = os.path.join(root, config.name, name)
    args = [python, "-m", module_for(config, config_arg), f"--config={config_arg}",
            f"--workdir={workdir}"]
    args += [f"--config.{key}={_format(value)}" for key, value in overrides.items()]
    out.append((name, " ".join(shlex.quote(a) for a in args + list(extra_flags))))
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", required=True, help="configs/NAME.py[:variant]")
  parser.add_argument("--root", default="runs/sweeps", help="where the runs' workdirs go")
  parser.add_argument("--runner", choices=("local", "slurm"), default="local")
  parser.add_argument("--sbatch_args", default="", help="extra sbatch options (Slurm runner)")
  parser.add_argument("--dry_run", action="store_true", help="print the commands, run nothing")
  parser.add_argument("extra", nargs="*", help="flags passed to every run (after --)")
  args = parser.parse_args(argv)
  runs = commands(args.config, args.root, args.extra)
  if args.runner == "local":
    for i, (name, line) in enumerate(runs):
      print(line, flush=True)
      if not args.dry_run:
        print(f"[{i + 1}/{len(runs)}] {name}", file=sys.stderr, flush=True)
        subprocess.run(line, shell=True, check=True)
    return
  module, variant = load_config_module(args.config)
  commands_file = os.path.join(args.root, module.get_config(variant).name, "commands.txt")
  sbatch = (["sbatch", f"--array=0-{len(runs) - 1}"] + shlex.split(args.sbatch_args)
            + [os.path.join(HERE, "slurm_array.sbatch"), commands_file])
  for _, line in runs:
    print(line)
  print(" ".join(shlex.quote(a) for a in sbatch))
  if not args.dry_run:
    os.makedirs(os.path.dirname(commands_file), exist_ok=True)
    with open(commands_file, "w") as f:
      f.write("".join(line + "\n" for _, line in runs))
    subprocess.run(sbatch, check=True)


if __name__ == "__main__":
  main()
