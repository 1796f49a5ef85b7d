r"""TCN k-WTA autoencoder on MAESTRO v2.0.0 piano (the paper: TCN [8, 16, 32], D = 1000, P = 4,
k 95 -> 75 in steps of 5).

Run:
  python -m tcn_wta.main --config=configs/maestro.py --config.data.root=/path/to/maestro-v2.0.0
  python -m tcn_wta.main --config=configs/maestro.py --config.data.representation=roll ...
  python -m tcn_wta.main --config=configs/maestro.py:roll_sparse ...  # rolls, k 16 -> 8
  python -m tcn_wta.main --config=configs/maestro.py:authors ...   # the authors' one channel
Events are Performance RNN's 388 classes fed one-hot (not integer ids as in the authors' code);
windows of 256 events. The conversion of all 1,282 files runs once, on every core, and is cached.
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
  config.name = "maestro"
  config.seed = 0
  config.mesh_devices = 0           # data-parallel devices (0 = all); the batch is global

  config.data = ml_collections.ConfigDict()
  config.data.dataset = "maestro"
  config.data.root = os.environ.get("MAESTRO_DIR", "")  # folder with maestro-v2.0.0.csv
  config.data.cache_dir = ""
  config.data.representation = "events"   # or "roll" (88 keys x frames, velocity)
  config.data.frames_per_second = 16      # roll only
  config.data.window = 256                # events (or frames); a multiple of P
  config.data.phase = "beat"        # windows start on bar lines; "any": at any step (ablation)
  config.data.train_hop = 64
  config.data.workers = 0                 # conversion processes; 0 = all cores

  config.model = ml_collections.ConfigDict()
  config.model.num_atoms = 1000
  config.model.patch = 4
  config.model.tcn_features = (8, 16, 32)
  config.model.kernel_size = 3
  config.model.decoder = "auto"   # dense | sparse | auto: sparse when 25 k <= D (speed only)
  config.model.kwta = "auto"      # top_k | threshold | auto: threshold when k >= max(16, D / 32)
  config.model.k = ml_collections.ConfigDict()
  config.model.k.k_start = 95
  config.model.k.k_end = 75
  config.model.k.k_decrement = 5
  config.model.k.decay_every = 1000

  config.batch_size = 32
  config.learning_rate = 1e-3
  config.num_train_steps = 6000
  config.log_every_steps = 500
  config.checkpoint_every_steps = 1000
  config.checkpoints_to_keep = 3
  config.watchdog_seconds = 900     # no step or report stage for this long: dump stacks, exit 3

  config.eval = ml_collections.ConfigDict()
  config.eval.max_windows = 2048

  config.analysis = tcn_analysis.analysis_config(
      probe_labels=("canonical_composer",),
      style_labels=("canonical_composer",),
      group_label="canonical_title",  # 628 of 1,282 performances share a composer and title
      # The paper's style map (Fig. 2): three composers, chronologically.
      style_order=("Joseph Haydn", "Ludwig van Beethoven", "Frédéric Chopin"))

  config.train = tcn_analysis.train_config()
  config.ablation = tcn_analysis.ablation_config(ks=(25, 50, 75, 95), phase_ks=())

  config.generate = ml_collections.ConfigDict()
  config.generate.seed = 0
  config.generate.steps_per_bar = 0    # no bars: events
  config.generate.code_steps = 256      # 1024 events (or frames)
  config.generate.qpm = 120.0           # unused by events

  if variant == "quick":
    config.name += "_quick"  # its own default workdir: a short run never resumes the full one
    config.num_train_steps = 500
    config.model.k.decay_every = 100
    config.log_every_steps = 100
  elif variant == "roll_sparse":
    # Piano rolls with a genuinely sparse code: at most 8 of the 1000 atoms per quarter second
    # (k 16 -> 8), so a good reconstruction says the dictionary learnt reusable patterns.
    config.name = "maestro_roll_sparse"
    config.data.representation = "roll"
    config.model.k.k_start = 16
    config.model.k.k_end = 8
    config.model.k.k_decrement = 2
    config.ablation.ks = (1, 2, 4, 8)
  elif variant == "authors":
    # The authors' input: one channel of token ids scaled as (id - 224) / 111, MSE loss (their
    # model.pth holds 107,425 float64 parameters = 872,785 bytes, the paper's "877 KB").
    config.name = "maestro_authors"
    config.data.representation = "event_ids"
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; expected '', 'quick', 'roll_sparse' "
                     "or 'authors'")
  return config


def get_sweep():
  """Runs of `python launch/sweep.py --config=configs/maestro.py`: the k schedule's floor, and
  the piano-roll representation."""
  return [{"model.k.k_end": k} for k in (50, 75, 95)] + [{"data.representation": "roll"}]
