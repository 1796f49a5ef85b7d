"""Checks a DKM config before anything is written, and a resumed run against its workdir
(the rules are `music_runtime.running.config_checks`')."""

import ml_collections

from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import storage
from kanerva_music.memory import model
from kanerva_music.prior import masks as prior_masks
from kanerva_music.prior import memory_context
from kanerva_music.prior import network
from music_runtime.running import config_checks

ConfigError = config_checks.ConfigError
freeze = config_checks.freeze

# Where the data is may change (its content may not: config.json records its hash).
SAFE_TO_CHANGE = ("program", "name", "num_train_steps", "log_every_steps", "eval_every_steps",
                  "checkpoint_every_steps", "checkpoints_to_keep", "watchdog_seconds",
                  "mesh_devices", "data.path", "data.data_dir", "data.download",
                  "data.music21_fallback", "model.linalg", "eval.report", "prior.split_step")
# How the report reads a trained memory: --mode=eval may change these.
SAFE_TO_EVALUATE = ("eval.", "model.memory_precision", "model.read_method",
                    "model.lstsq_solver", "model.attention_beta", "model.attention_top_k")
# Fields added after runs were trained: a saved config without them ran as these values.
ADDED_DEFAULTS = {"model.kind": "linear", "model.memory_precision": "float32",
                  "model.lstsq_solver": "svd", "eval.recall_sizes": (8, 16, 32, 64, 128)}
KINDS = ("linear", "prior")


def validate(config):
  """Raises ConfigError naming the first field that cannot run."""
  config_checks.check_finite(config)
  config_checks.check_program(config, "kanerva_music.main")
  for name in ("num_train_steps", "batch_size", "episodes_per_memory", "log_every_steps",
               "eval_every_steps", "checkpoint_every_steps", "checkpoints_to_keep",
               "model.num_rows", "data.episode_steps", "eval.num_iters"):
    config_checks.at_least(config, name, 1)
  config_checks.at_least(config, "eval.num_memories", 2)  # a standard error needs two memories
  config_checks.at_least(config, "mesh_devices", 0)
  for name in ("num_train_steps", "batch_size", "episodes_per_memory", "model.num_rows",
               "data.episode_steps", "eval.num_memories", "eval.num_iters"):
    config_checks.at_most(config, name, config_checks.INT32_MAX)
  config_checks.at_least(config, "seed", 0)
  config_checks.at_most(config, "seed", 2 ** 63 - 1)
  for name in ("learning_rate", "model.obs_noise_std", "model.prior_std",
               "model.init_cov_scale", "model.init_address_std"):
    config_checks.at_least(config, name, 1e-12, float)
  try:
    model.check_model_config(config.model)
  except ValueError as e:
    raise ConfigError(str(e)) from e
  config_checks.one_of(config, "model.memory_precision", storage.PRECISIONS)
  if config.model.kind == "codec":
    raise ConfigError("config.model.kind = 'codec': this version has no codec DKM; the "
                      "memory-backed decoder is the inpainting network reading the DKM memory "
                      "of the piece (--config=configs/chorales.py:prior)")
  config_checks.one_of(config, "model.kind", KINDS)
  _validate_listener(config)
  if config.model.kind == "prior":
    _validate_prior(config)
  config_checks.check_fits(config, _largest_arrays(config))


def _largest_arrays(config):
  """(what, fields, float32 elements) of arrays a run must hold at once: lower bounds that
  refuse, before any work, a size no machine here can run (`check_fits`)."""
  entries = 4 * config.data.episode_steps  # C = 4 S
  rows, per_memory = config.model.num_rows, config.episodes_per_memory
  memory = rows * (entries + rows) + per_memory * (entries + rows)  # M, its covariance, x, w
  arrays = [
      ("a training step's memories and episodes", ("batch_size", "episodes_per_memory",
                                                   "model.num_rows", "data.episode_steps"),
       config.batch_size * memory),
      ("the evaluation's memories", ("eval.num_memories", "episodes_per_memory",
                                     "model.num_rows", "data.episode_steps"),
       config.eval.num_memories * memory)]
  if config.model.kind == "prior":
    arrays.append(("the network's activations", ("batch_size", "prior.width", "prior.depth",
                                                 "data.episode_steps"),
                   config.batch_size * entries * config.prior.width * config.prior.depth))
  return arrays


def _validate_prior_memory(config):
  if not config.prior.get("memory_rows", 0):
    return
  config_checks.at_least(config, "prior.memory_rows", 1)
  config_checks.at_least(config, "prior.memory_slots", 1)
  config_checks.at_least(config, "prior.memory_noise", 1e-4, float)
  config_checks.at_least(config, "eval.context_windows", 1)
  mix = tuple(config.prior.memory_mode_mix)
  if len(mix) != len(memory_context.MODES) or min(mix) < 0 or sum(mix) <= 0:
    raise ConfigError(f"config.prior.memory_mode_mix = {mix}: {len(memory_context.MODES)} "
                      f"non-negative weights of the memory modes "
                      f"{', '.join(memory_context.MODES)}")
  masks = tuple(config.eval.context_masks)
  unknown = [m for m in masks if m not in evaluate.MASKS]
  if unknown or not masks:
    raise ConfigError(f"config.eval.context_masks = {masks}: expected masks among "
                      f"{', '.join(evaluate.MASKS)}")


def _validate_prior(config):
  if "prior" not in config:
    raise ConfigError("config.model.kind = 'prior' needs a config.prior section: use "
                      "--config=configs/chorales.py:prior")
  config_checks.one_of(config, "prior.network", network.KINDS)
  for name in ("prior.width", "prior.depth", "prior.heads", "eval.gibbs_steps",
               "eval.gibbs_memories", "eval.code_length_orders", "eval.code_length_episodes",
               "eval.code_length_block"):
    config_checks.at_least(config, name, 1)
  entries = config.data.episode_steps * network.NUM_VOICES
  if entries % config.eval.code_length_block:
    raise ConfigError(f"config.eval.code_length_block = {config.eval.code_length_block} does "
                      f"not divide the {entries} entries of an episode")
  if config.prior.width % config.prior.heads:
    raise ConfigError(f"config.prior.heads = {config.prior.heads} does not divide "
                      f"config.prior.width = {config.prior.width}")
  for name in ("prior.dropout", "prior.weight_decay"):
    config_checks.at_least(config, name, 0.0, float)
  config_checks.at_least(config, "prior.transpose_semitones", 0)
  mix = tuple(config.prior.mask_mix)
  if len(mix) != len(prior_masks.KINDS) or min(mix) < 0 or sum(mix) <= 0:
    raise ConfigError(f"config.prior.mask_mix = {mix}: {len(prior_masks.KINDS)} non-negative "
                      f"weights of the mask kinds {', '.join(prior_masks.KINDS)}")
  config_checks.at_least(config, "eval.gibbs_temperature", 1e-3, float)
  if not 0.0 < config.eval.gibbs_min_share <= 1.0:
    raise ConfigError(f"config.eval.gibbs_min_share = {config.eval.gibbs_min_share}: "
                      "expected a share in (0, 1]")
  _validate_prior_memory(config)
  masks = tuple(config.eval.prior_masks)
  unknown = [m for m in masks if m not in evaluate.MASKS]
  if unknown or not masks:
    raise ConfigError(f"config.eval.prior_masks = {masks}: expected masks among "
                      f"{', '.join(evaluate.MASKS)}")
  sampled = tuple(config.eval.get("gibbs_masks", masks))
  if [m for m in sampled if m not in masks]:
    raise ConfigError(f"config.eval.gibbs_masks = {sampled}: expected masks among "
                      f"config.eval.prior_masks = {masks}")


def _validate_listener(config):
  """Per-voice sigmas (model.voice_noise, eval.listener_voice_noises) and the section's sizes."""
  if config.model.kind != "linear" and tuple(config.model.get("voice_noise", ())):
    raise ConfigError(f"config.model.voice_noise applies to the linear DKM's voices, not to "
                      f"model.kind={config.model.kind!r}; leave it ()")
  for noise in config.eval.get("listener_voice_noises", ()):
    try:
      model.check_model_config(ml_collections.ConfigDict({"voice_noise": tuple(noise)}))
    except ValueError as e:
      raise ConfigError(str(e).replace("config.model.voice_noise",
                                       "config.eval.listener_voice_noises entry")) from e
  if config.eval.get("listener_voice_noises", ()):
    _check_episode_counts(config, "listener_sizes", allow_empty=False)
  for key in ("recall_sizes", "capacity_sizes"):
    _check_episode_counts(config, key)


def _check_episode_counts(config, key, allow_empty=True):
  """config.eval.<key> must be a tuple of stored-episode counts T >= 1."""
  sizes = tuple(config.eval.get(key, ()))
  if (not sizes and not allow_empty) or not all(isinstance(t, int) and t >= 1 for t in sizes):
    raise ConfigError(f"config.eval.{key}={sizes!r}; expected stored-episode counts >= 1")


def differing_keys(config, saved):
  return config_checks.differing_keys(config, saved, SAFE_TO_CHANGE, ADDED_DEFAULTS)


def check_resume(config, workdir, provenance=None, evaluating=False):
  """Refuses a resumed (or evaluated) run whose config or data differ from `workdir`'s."""
  config_checks.check_resume(config, workdir, SAFE_TO_CHANGE, ADDED_DEFAULTS,
                             provenance=provenance, evaluating=evaluating,
                             safe_to_evaluate=SAFE_TO_EVALUATE)
