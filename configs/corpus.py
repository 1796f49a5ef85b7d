r"""TCN k-WTA autoencoder on music21's bundled corpus (offline; no download).

Run:
  python -m tcn_wta.main --config=configs/corpus.py
Piano rolls (88 keys, 16th notes) labelled with composer, key signature, mode and time signature;
windows of 4 bars of 4/4 (64 steps), P = 4 (a quarter note).
"""

import os

import ml_collections

from music_runtime.running import config_files

# Loaded by path, as every config is: configs/ is a folder of files, not an installed package.
tcn_analysis = config_files.load_module(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcn_analysis.py"))


def get_config(variant=""):
  config = ml_collections.ConfigDict()
  config.program = "tcn_wta.main"   # the binary that runs this config
  config.name = "corpus"
  config.seed = 0
  config.mesh_devices = 0           # data-parallel devices (0 = all); the batch is global

  config.data = ml_collections.ConfigDict()
  config.data.dataset = "corpus"
  config.data.cache_dir = ""
  config.data.composers = ("bach", "palestrina", "monteverdi", "haydn", "mozart", "beethoven",
                           "joplin")
  config.data.max_per_composer = 60
  config.data.representation = "roll"
  config.data.window = 64
  config.data.phase = "beat"        # windows start on bar lines; "any": at any step (ablation)
  config.data.train_hop = 16
  config.data.workers = 0

  config.model = ml_collections.ConfigDict()
  config.model.num_atoms = 200
  config.model.patch = 4
  config.model.tcn_features = (8, 16, 32)
  config.model.kernel_size = 3
  config.model.decoder = "auto"   # dense | sparse | auto: sparse when 25 k <= D (speed only)
  config.model.kwta = "auto"      # top_k | threshold | auto: threshold when k >= max(16, D / 32)
  config.model.k = ml_collections.ConfigDict()
  config.model.k.k_start = 12
  config.model.k.k_end = 6
  config.model.k.k_decrement = 2
  config.model.k.decay_every = 1000

  config.batch_size = 32
  config.learning_rate = 1e-3
  config.num_train_steps = 4000
  config.log_every_steps = 500
  config.checkpoint_every_steps = 1000
  config.checkpoints_to_keep = 3
  config.watchdog_seconds = 900     # no step or report stage for this long: dump stacks, exit 3

  config.eval = ml_collections.ConfigDict()
  config.eval.max_windows = 2048

  config.analysis = tcn_analysis.analysis_config(
      probe_labels=("composer", "key_signature", "mode", "time_signature"),
      style_labels=("composer",))

  config.train = tcn_analysis.train_config()
  config.ablation = tcn_analysis.ablation_config(ks=(2, 4, 6, 8), phase_ks=(6,))

  config.generate = ml_collections.ConfigDict()
  config.generate.seed = 0
  config.generate.steps_per_bar = 16   # 16ths; bar positions for sampling codes
  config.generate.code_steps = 64       # 16 bars of 4/4
  config.generate.qpm = 100.0

  if variant == "quick":
    config.name += "_quick"  # its own default workdir: a short run never resumes the full one
    config.num_train_steps = 500
    config.data.max_per_composer = 12
    config.model.k.decay_every = 100
    config.log_every_steps = 100
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; expected '' or 'quick'")
  return config


def get_sweep():
  """Runs of `python launch/sweep.py --config=configs/corpus.py`: the k schedule's floor and
  decay."""
  return [{"model.k.k_end": k, "model.k.decay_every": every}
          for k in (3, 6, 12) for every in (500, 1000)]
