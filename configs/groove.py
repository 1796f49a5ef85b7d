r"""TCN k-WTA autoencoder on Groove MIDI drums (the paper: no TCN, D = 100, P = 4, k 4 -> 1).

Run:
  python -m tcn_wta.main --config=configs/groove.py --config.data.root=/path/to/groove
  python -m tcn_wta.main --config=configs/groove.py:quick ...
The dataset is the Groove MIDI Dataset v1.0.0 (groove-v1.0.0-midionly.zip from Magenta's datasets
page); its tensors are cached once in --config.data.cache_dir (default ~/.cache/tcn_wta).
Batches are windows of 4 bars (64 steps), not the authors' batch size 1.
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
  config.name = "groove"
  config.seed = 0
  config.mesh_devices = 0           # data-parallel devices (0 = all); the batch is global

  config.data = ml_collections.ConfigDict()
  config.data.dataset = "groove"
  config.data.root = os.environ.get("GROOVE_DIR", "")  # folder with info.csv and drummer*/
  config.data.cache_dir = ""        # "" = ~/.cache/tcn_wta
  config.data.representation = "drums"
  config.data.window = 64           # 4 bars of 16th notes
  config.data.phase = "beat"        # windows start on bar lines; "any": at any step (ablation)
  config.data.train_hop = 16        # 1 bar

  config.model = ml_collections.ConfigDict()
  config.model.num_atoms = 100      # D
  config.model.patch = 4            # P: one quarter note
  config.model.tcn_features = ()    # the authors' drum model has no TCN
  config.model.kernel_size = 3
  config.model.decoder = "auto"   # dense | sparse | auto: sparse when 25 k <= D (speed only)
  config.model.kwta = "auto"      # top_k | threshold | auto: threshold when k >= max(16, D / 32)
  config.model.k = ml_collections.ConfigDict()
  config.model.k.k_start = 4
  config.model.k.k_end = 1
  config.model.k.k_decrement = 1
  config.model.k.decay_every = 1000  # steps; 4 -> 1 over the first 3000 of 5000 steps

  config.batch_size = 64
  config.learning_rate = 3e-3
  config.num_train_steps = 5000
  config.log_every_steps = 500
  config.checkpoint_every_steps = 1000
  config.checkpoints_to_keep = 3
  config.watchdog_seconds = 900     # no step or report stage for this long: dump stacks, exit 3

  config.eval = ml_collections.ConfigDict()
  config.eval.max_windows = 4096

  config.analysis = tcn_analysis.analysis_config(
      probe_labels=("drummer", "style"),
      style_labels=("drummer", "style"))

  config.train = tcn_analysis.train_config()
  config.ablation = tcn_analysis.ablation_config(ks=(1, 2, 4, 8), phase_ks=(1, 2))

  config.generate = ml_collections.ConfigDict()
  config.generate.seed = 0
  config.generate.steps_per_bar = 16   # 16ths; bar positions for sampling codes
  config.generate.structure = "AABA"
  config.generate.bars_per_section = 2
  config.generate.qpm = 120.0
  config.generate.quantize = False      # True: drop the learnt micro-timing (offsets)

  if variant == "quick":
    config.name += "_quick"  # its own default workdir: a short run never resumes the full one
    config.num_train_steps = 600
    config.model.k.decay_every = 150
    config.log_every_steps = 100
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; expected '' or 'quick'")
  return config


def get_sweep():
  """Runs of `python launch/sweep.py --config=configs/groove.py`: final k x dictionary size."""
  return [{"model.k.k_end": k, "model.num_atoms": d} for k in (1, 2, 4) for d in (100, 400)]
