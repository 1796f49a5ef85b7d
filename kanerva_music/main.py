r"""Trains and evaluates the DKM on Bach chorales.

  python -m kanerva_music.main --config=configs/chorales.py [--workdir=runs/chorales]
  python -m kanerva_music.main --config=configs/chorales.py --mode=eval --workdir=runs/chorales

Training resumes automatically from the latest checkpoint in --workdir.
"""

import contextlib
import importlib

from absl import flags
from ml_collections import config_flags

from kanerva_music.data import chorales
from kanerva_music.data import episodes
from kanerva_music.training import config_checks
from music_runtime.files import safe_npz
from music_runtime.files import workdir_lock
from music_runtime.running import cli
from music_runtime.running import watchdog

FLAGS = flags.FLAGS
# The trainer and reporter of each model kind, imported by the run that uses them: a run refused
# for its flags or workdir stops before loading either (about a second of imports).
PROGRAMS = {"linear": ("kanerva_music.training.train", "kanerva_music.reporting.report"),
            "prior": ("kanerva_music.prior.train", "kanerva_music.prior.report")}


def _define_flags():
  """Defined only when run as a program, so that importing this module defines none."""
  flags.DEFINE_string("workdir", None, "Where checkpoints, metrics and config.json go "
                      "(default: runs/<config.name>).")
  flags.DEFINE_enum("mode", "train", ["train", "eval"],
                    "train: train (resuming) then evaluate; eval: evaluate the latest checkpoint.")
  config_flags.DEFINE_config_file("config", None, "Experiment configuration file.",
                                  lock_config=True)
  flags.mark_flags_as_required(["config"])


# Errors a user can fix: one line and exit status 2 (--verbosity=1 shows the traceback).
USER_ERRORS = (config_checks.ConfigError, chorales.ChoraleDataError, episodes.EpisodeDataError,
               safe_npz.UnsafeNpzError, FileNotFoundError)


def main(argv):
  config = FLAGS.config
  workdir = cli.start_job(argv, config, FLAGS.workdir)
  kind = config.model.get("kind", "linear")
  config_checks.validate(config)
  trainer, reporter = (importlib.import_module(name) for name in PROGRAMS[kind])
  # Training and reports write into the workdir: one writer at a time (an evaluation without a
  # report only reads).
  writes = FLAGS.mode == "train" or config.eval.report
  lock = workdir_lock.hold(workdir) if writes else contextlib.nullcontext()
  with lock, watchdog.Watchdog(workdir, config.watchdog_seconds) as dog:
    if FLAGS.mode == "train":
      result = trainer.train_and_evaluate(config, workdir, heartbeat=dog.beat)
    else:
      result = trainer.evaluate_checkpoint(config, workdir)
    if config.eval.report:
      reporter.write_report(config, workdir, result, heartbeat=dog.beat)
  if kind == "prior":
    print(f"Best validation NLL: {result.best['validation_nll']:.4f} nats per hidden note "
          f"(step {result.best['step']})")
  else:
    elbo = result.elbo_bits_per_dim["test"]
    print(f"Final test negative conditional ELBO: {elbo['mean']:.4f} +- {elbo['stderr']:.4f} "
          "bits per time step per voice (paper: 0.76 +- 0.002)")


if __name__ == "__main__":
  _define_flags()
  cli.run(main, USER_ERRORS)
