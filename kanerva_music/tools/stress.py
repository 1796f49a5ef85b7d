r"""Stress test: no hangs and no step-rate collapse on a small, busy machine.

  python -m kanerva_music.tools.stress --workdir=runs/stress [--report_runs=30] \
      [--train_seconds=180]

Starts a CPU hog (a busy process on one core) beside the work, then
1. trains the default DKM for `--train_seconds`, timing every step, and checks that no 10 s
   window runs below a third of the median step rate;
2. evaluates the trained memory `--report_runs` times, each in a fresh process
   (`kanerva_music.main --mode=eval`, a smaller evaluation set) under the watchdog, and counts
   runs that hang (watchdog exit 3 or the outer time-out) or fail.
Prints one line per run and a verdict; exits 1 if anything hung, failed or collapsed.
"""

import multiprocessing
import subprocess
import sys
import time

from absl import app
from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from kanerva_music.training import train
from music_runtime.running import cli
from music_runtime.running import watchdog
from music_runtime.training import sharding

FLAGS = flags.FLAGS


def _define_flags():
  """Defined only when run as a program: kanerva_music.main owns --workdir in a shared process."""
  flags.DEFINE_string("workdir", "runs/stress", "Scratch workdir (trained here).")
  config_flags.DEFINE_config_file("config", "configs/chorales.py", "The DKM config to train.")
  flags.DEFINE_integer("report_runs", 30, "Evaluations to run, each in a fresh process.")
  flags.DEFINE_integer("train_seconds", 180, "Seconds of training to time.")
  flags.DEFINE_integer("eval_timeout", 300, "Seconds after which an evaluation counts as hung.")
  flags.DEFINE_bool("hog", True, "Run a CPU hog beside the work.")

WINDOW_S = 10.0


def _hog():
  while True:
    pass


def step_rate_windows(times, window_s=WINDOW_S):
  """Steps per second in consecutive windows of `window_s` seconds over step end times."""
  times = np.asarray(times) - times[0]
  edges = np.arange(0.0, times[-1] + 1e-9, window_s)
  counts = np.histogram(times, bins=np.append(edges, edges[-1] + window_s))[0]
  full = counts[:-1] if times[-1] - edges[-1] < window_s else counts
  return full / window_s


def time_training(config, seconds):
  """Step end times of a training run of about `seconds` seconds (each step waited for)."""
  mesh = sharding.make_mesh(1)
  pools, _ = train.load_pools(config)
  state = train.create_state(config, pools)
  step = train.make_train_step(config, mesh)
  rng = jax.random.PRNGKey(config.seed)
  state, _ = step(state, pools["train"], rng)  # compile
  jax.block_until_ready(state)
  times, start = [], time.monotonic()
  while time.monotonic() - start < seconds:
    state, metrics = step(state, pools["train"], rng)
    jax.block_until_ready(metrics)
    times.append(time.monotonic())
  return times, state


def evaluation_command(workdir):
  return [sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py",
          f"--workdir={workdir}", "--mode=eval", "--config.eval.num_memories=32",
          "--config.eval.capacity_rows=()", "--config.watchdog_seconds=120"]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  workdir = FLAGS.workdir
  hog = None
  if FLAGS.hog:
    hog = multiprocessing.Process(target=_hog, daemon=True)
    hog.start()
  failures = []
  try:
    config = FLAGS.config
    with watchdog.Watchdog(workdir, 600):
      times, _ = time_training(config, FLAGS.train_seconds)
    rates = step_rate_windows(times)
    median = float(np.median(rates))
    worst = float(rates.min())
    collapsed = worst < median / 3
    print(f"training: {len(times)} steps in {times[-1] - times[0]:.0f}s; 10 s windows: median "
          f"{median:.1f} steps/s, slowest {worst:.1f} ({'COLLAPSE' if collapsed else 'ok'})",
          flush=True)
    if collapsed:
      failures.append("training step rate collapsed")
    # A trained workdir for the evaluations (the quick config, 2,000 steps).
    subprocess.run([sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py:quick",
                    f"--workdir={workdir}", "--config.eval.report=False"], check=True,
                   capture_output=True)
    hangs = errors = 0
    for run in range(FLAGS.report_runs):
      start = time.monotonic()
      try:
        out = subprocess.run(evaluation_command(workdir), capture_output=True, text=True,
                             timeout=FLAGS.eval_timeout)
        code = out.returncode
      except subprocess.TimeoutExpired:
        code = "timeout"
      elapsed = time.monotonic() - start
      if code in (watchdog.HANG_EXIT_CODE, "timeout"):
        hangs += 1
      elif code != 0:
        errors += 1
      print(f"evaluation {run + 1}/{FLAGS.report_runs}: exit {code} in {elapsed:.0f}s", flush=True)
    if hangs or errors:
      failures.append(f"{hangs} hung and {errors} failed of {FLAGS.report_runs} evaluations")
  finally:
    if hog is not None:
      hog.terminate()
  verdict = "FAILED: " + "; ".join(failures) if failures else "passed: no hang, no collapse"
  print(f"stress test {verdict}", flush=True)
  return 1 if failures else 0


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
