r"""Trains the TCN k-WTA autoencoder.

  python -m tcn_wta.main --config=configs/groove.py [--workdir=runs/groove]

Training resumes automatically from the latest checkpoint in --workdir.
"""

import os

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from tcn_wta import train

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Checkpoints, metrics and config.json "
                    "(default: runs/<config.name>).")
config_flags.DEFINE_config_file("config", None, "Experiment configuration file.",
                                lock_config=True)
flags.mark_flags_as_required(["config"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config = FLAGS.config
  workdir = FLAGS.workdir or os.path.join("runs", config.name)
  logging.info("JAX process %d/%d, local devices %s", jax.process_index(), jax.process_count(),
               jax.local_devices())
  result = train.train_and_evaluate(config, workdir)
  for split, values in result["metrics"].items():
    print(f"Held-out {split} reconstruction (k={result['k']}): "
          + ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items())))


if __name__ == "__main__":
  app.run(main)
