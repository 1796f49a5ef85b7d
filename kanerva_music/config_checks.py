"""Checks a DKM config before anything is written, and a resumed run against its workdir
(the rules are `music_runtime.config_checks`')."""

from kanerva_music import model
from music_runtime import config_checks

ConfigError = config_checks.ConfigError
freeze = config_checks.freeze

SAFE_TO_CHANGE = ("program", "num_train_steps", "log_every_steps", "eval_every_steps",
                  "checkpoint_every_steps", "checkpoints_to_keep", "watchdog_seconds",
                  "mesh_devices", "eval.", "data.path", "data.data_dir", "data.download",
                  "data.music21_fallback", "model.linalg")


def validate(config):
  """Raises ConfigError naming the first field that cannot run."""
  if config.get("program", "kanerva_music.main") != "kanerva_music.main":
    raise ConfigError(f"config.program = {config.program!r}: this config is for "
                      f"python -m {config.program}, not kanerva_music.main")
  for name in ("num_train_steps", "batch_size", "episodes_per_memory", "log_every_steps",
               "eval_every_steps", "checkpoint_every_steps", "checkpoints_to_keep",
               "model.num_rows", "data.episode_steps", "eval.num_iters"):
    config_checks.at_least(config, name, 1)
  config_checks.at_least(config, "eval.num_memories", 2)  # a standard error needs two memories
  config_checks.at_least(config, "mesh_devices", 0)
  for name in ("learning_rate", "model.obs_noise_std", "model.prior_std",
               "model.init_cov_scale", "model.init_address_std"):
    config_checks.at_least(config, name, 1e-12, float)
  try:
    model.check_model_config(config.model)
  except ValueError as e:
    raise ConfigError(str(e)) from e


def differing_keys(config, saved):
  return config_checks.differing_keys(config, saved, SAFE_TO_CHANGE)


def check_resume(config, workdir):
  config_checks.check_resume(config, workdir, SAFE_TO_CHANGE)
