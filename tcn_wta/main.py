r"""Trains the TCN k-WTA autoencoder, measures the paper's applications, and generates music.

  python -m tcn_wta.main --config=configs/groove.py [--workdir=runs/groove]
  python -m tcn_wta.main --config=configs/groove.py --mode=ablate --workdir=runs/groove
  python -m tcn_wta.main --config=configs/groove.py --mode=analyze --workdir=runs/groove
  python -m tcn_wta.main --config=configs/groove.py --mode=generate --workdir=runs/groove \
      --config.generate.structure=ABAC --config.generate.qpm=96

Training resumes automatically from the latest checkpoint in --workdir. `analyze` writes
report.json, REPORT.md, figures and audio into the workdir (with the ablations' results if
`ablate`, which trains the k sweep, denoising and beat-alignment models under
workdir/ablations/, has run); `generate` writes MIDI, WAV and a
figure into workdir/generated.
"""

import importlib
import json
import os

from absl import flags
import jax
from ml_collections import config_flags

from music_runtime.files import safe_npz
from music_runtime.files import workdir_lock
from music_runtime.running import cli
from music_runtime.running import watchdog
from tcn_wta.training import config_checks

FLAGS = flags.FLAGS
# The module each mode runs, imported by the run that uses it: a run refused for its flags or
# config stops before loading the applications (scikit-learn, note-seq, matplotlib: seconds).
MODES = {"train": "tcn_wta.training.train", "ablate": "tcn_wta.applications.ablations",
         "analyze": "tcn_wta.reporting.report", "generate": "tcn_wta.applications.generation"}
# Errors a user can fix: one line and exit status 2 (--verbosity=1 shows the traceback).
USER_ERRORS = (config_checks.ConfigError, FileNotFoundError, safe_npz.UnsafeNpzError)


def _define_flags():
  """Defined only when run as a program, so that importing this module defines none."""
  flags.DEFINE_string("workdir", None, "Checkpoints, metrics and config.json "
                      "(default: runs/<config.name>).")
  flags.DEFINE_enum("mode", "train", ["train", "ablate", "analyze", "generate"],
                    "train: train (resuming) and evaluate; ablate: train and measure the k sweep, "
                    "denoising and beat-alignment models under workdir/ablations; analyze: measure "
                    "the applications on the latest checkpoint; generate: write music from sampled "
                    "codes.")
  config_flags.DEFINE_config_file("config", None, "Experiment configuration file.",
                                  lock_config=True)
  flags.mark_flags_as_required(["config"])


def main(argv):
  config = FLAGS.config
  workdir = cli.start_job(argv, config, FLAGS.workdir)
  config_checks.validate(config)
  with workdir_lock.hold(workdir):  # every mode writes into the workdir: one writer at a time
    _run_mode(config, workdir, importlib.import_module(MODES[FLAGS.mode]))


def _run_mode(config, workdir, program):
  if FLAGS.mode == "train":
    with watchdog.Watchdog(workdir, config.watchdog_seconds) as dog:
      result = program.train_and_evaluate(config, workdir, heartbeat=dog.beat)
    for split, values in result.metrics.items():
      print(f"Held-out {split} reconstruction (k={result.k}): "
            + ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items())))
  elif FLAGS.mode == "ablate":
    with watchdog.Watchdog(workdir, config.watchdog_seconds) as dog:
      result = program.run(config, workdir, heartbeat=dog.beat)
    if jax.process_index() == 0:
      print(f"Wrote {os.path.join(workdir, program.RESULTS)} ({result['seconds']:.0f}s)")
  elif FLAGS.mode == "analyze":
    result = program.analyze(config, workdir)
    if result is not None:
      print(f"Wrote {os.path.join(workdir, 'REPORT.md')}")
  elif jax.process_index() == 0:
    print(json.dumps(program.from_checkpoint(config, workdir), indent=1))


if __name__ == "__main__":
  _define_flags()
  cli.run(main, USER_ERRORS)
