r"""The paper's DKM on Bach chorales (seed section 4.1).

Run:
  python -m kanerva_music.main --config=configs/chorales.py
  python -m kanerva_music.main --config=configs/chorales.py:quick   # a minute on a laptop
Override any field, e.g. --config.model.num_rows=64 --config.num_train_steps=1000.

Interpretation of the seed's "batch size 32" and "episode length T = 32": one training example
is a set of T = 32 episodes written into one memory, and `batch_size` counts such sets.
"""

import ml_collections


def get_config(variant=""):
  """variant: "" for the paper's setting, "quick" for a short run that shows the whole pipeline."""
  config = ml_collections.ConfigDict()
  config.name = "chorales"
  config.seed = 0
  config.mesh_devices = 0           # data-parallel devices (0 = all); the batch is global

  config.data = ml_collections.ConfigDict()
  config.data.path = ""            # an explicit Jsb16thSeparated.npz; "" = search (see chorales.py)
  config.data.data_dir = ""        # "" = $KANERVA_MUSIC_DATA or ~/.cache/kanerva_music
  config.data.download = True      # fetch the official file into data_dir when missing
  config.data.music21_fallback = True  # offline: build the format from music21's corpus
  config.data.rests = "skip"       # "skip" windows with a rest, or "hold" the previous pitch
  config.data.episode_steps = 32   # S: 2 bars of 4/4 in 16th notes; C = 4 S

  config.model = ml_collections.ConfigDict()
  config.model.num_rows = 32                # K
  config.model.obs_noise_std = 0.2          # sigma_xi
  config.model.prior_std = 1.0              # sigma_p of p(w)
  config.model.train_solve_method = "cholesky"  # well conditioned with nothing masked; smooth grads
  config.model.eval_solve_method = "svd"
  config.model.init_mean_std = 0.1
  config.model.init_cov_scale = 1.0
  config.model.init_address_std = 0.3
  config.model.learn_prior_cov = True       # False: U0 fixed at init_cov_scale * I (ablation)

  config.episodes_per_memory = 32   # T
  config.batch_size = 32            # memories per step
  config.learning_rate = 1e-3
  config.num_train_steps = 30_000

  config.log_every_steps = 1000
  config.eval_every_steps = 10_000
  config.checkpoint_every_steps = 5000
  config.checkpoints_to_keep = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.seed = 2019
  config.eval.num_memories = 128    # each of T episodes: 4096 test episodes
  config.eval.num_iters = 10        # iterative reads (seed 4.3-4.4)
  config.eval.denoise_noise_std = 0.1  # cue x + N(0, 0.01) (seed 4.3)
  config.eval.report = True         # write report.json, REPORT.md, figures and audio

  if variant == "quick":
    config.num_train_steps = 2000
    config.log_every_steps = 200
    config.eval_every_steps = 1000
    config.checkpoint_every_steps = 500
    config.eval.num_memories = 32
  elif variant:
    raise ValueError(f"Unknown config variant {variant!r}; expected '' or 'quick'")
  return config


def get_sweep():
  """Runs of `python launch/sweep.py --config=configs/chorales.py`: memory rows K x sigma_xi, and
  the prior-covariance ablation."""
  runs = [{"model.num_rows": k, "model.obs_noise_std": sigma}
          for k in (16, 32, 64) for sigma in (0.1, 0.2, 0.4)]
  return runs + [{"model.learn_prior_cov": False}]
