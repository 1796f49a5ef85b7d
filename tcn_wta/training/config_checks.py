"""Checks a TCN k-WTA config before anything is written, and a resumed run against its workdir.

The rules are `music_runtime.running.config_checks`': types, ranges and choices are checked and
the data loaded before `config.json` is written; a workdir with checkpoints refuses a config that
differs from its own except in SAFE_TO_CHANGE.
"""

from music_runtime.running import config_checks
from music_runtime.training import layers
from tcn_wta import decoders

ConfigError = config_checks.ConfigError

# The representations each dataset can be converted to.
REPRESENTATIONS_OF_DATASET = {"groove": ("drums",), "maestro": ("events", "event_ids", "roll"),
                              "corpus": ("roll",)}

# Where the data is may change (its content may not: config.json records its hash).
SAFE_TO_CHANGE = ("program", "name", "num_train_steps", "log_every_steps",
                  "checkpoint_every_steps", "checkpoints_to_keep", "watchdog_seconds",
                  "mesh_devices", "data.root", "data.cache_dir", "data.workers",
                  "model.decoder", "model.kwta")  # the same function either way: only speed
# What the other modes (ablate, analyze, generate) measure of a trained model.
SAFE_TO_EVALUATE = ("eval.", "analysis.", "ablation.", "generate.")
# Fields added after runs were trained: their defaults are what those runs did.
ADDED_DEFAULTS = {"data.phase": "beat", "model.decoder": "auto", "model.kwta": "auto",
                  "train.corruption.drop": 0.0, "train.corruption.add": 0.0}
PHASES = ("beat", "any")


def validate(config):
  """Raises ConfigError naming the first field that cannot run."""
  config_checks.check_finite(config)
  config_checks.check_program(config, "tcn_wta.main")
  for name in ("num_train_steps", "batch_size", "log_every_steps", "checkpoint_every_steps",
               "checkpoints_to_keep", "data.window", "data.train_hop", "model.num_atoms",
               "model.patch", "model.kernel_size", "model.k.k_end", "model.k.k_decrement",
               "eval.max_windows"):
    config_checks.at_least(config, name, 1)
  config_checks.at_least(config, "mesh_devices", 0)
  config_checks.at_least(config, "model.k.decay_every", 0)
  for name in ("num_train_steps", "batch_size", "data.window", "model.num_atoms",
               "eval.max_windows"):
    config_checks.at_most(config, name, config_checks.INT32_MAX)
  config_checks.check_fits(config, [
      ("a training step's codes", ("batch_size", "data.window", "model.num_atoms"),
       config.batch_size * config.data.window * config.model.num_atoms)])
  config_checks.at_least(config, "learning_rate", 1e-12, float)
  config_checks.one_of(config, "data.dataset", tuple(REPRESENTATIONS_OF_DATASET))
  config_checks.one_of(config, "data.representation", REPRESENTATIONS_OF_DATASET[config.data.dataset])
  config_checks.at_least(config, "model.k.k_start", config.model.k.k_end)
  if config.model.k.k_start > config.model.num_atoms:
    raise ConfigError(f"config.model.k.k_start = {config.model.k.k_start}: more winners than "
                      f"atoms (config.model.num_atoms = {config.model.num_atoms})")
  config_checks.one_of(config, "data.phase", PHASES)
  if "decoder" in config.model:
    config_checks.one_of(config, "model.decoder", decoders.DECODERS)
  if "kwta" in config.model:
    config_checks.one_of(config, "model.kwta", layers.KWTA_METHODS)
  for name in ("train.corruption.drop", "train.corruption.add", "ablation.corrupt_drop",
               "ablation.corrupt_add"):
    value = config_checks.field(config, name)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
      raise ConfigError(f"config.{name} = {value!r}: expected a fraction in [0, 1]")
  for name in ("ablation.ks", "ablation.phase_ks"):
    for k in config_checks.field(config, name):
      if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"config.{name} holds {k!r}: expected ints >= 1")
  if config.data.window % config.model.patch:
    raise ConfigError(f"config.data.window = {config.data.window}: expected a multiple of "
                      f"config.model.patch = {config.model.patch}")
  if "generate" in config:
    _validate_generate(config)


SEED_LIMIT = 2**63  # numpy's default_rng takes any int, but the report stores it as int64
MAX_QPM = 1000.0


def _validate_generate(config):
  """Generation's values, before any work: a bad one would write empty music."""
  g = config.generate
  if "seed" in g and not (isinstance(g.seed, int) and 0 <= g.seed < SEED_LIMIT):
    raise ConfigError(f"config.generate.seed = {g.seed!r}: expected an int in [0, 2**63)")
  for name in ("bars_per_section", "code_steps"):
    if name in g:
      config_checks.at_least(config, "generate." + name, 1)
  if "steps_per_bar" in g:
    config_checks.at_least(config, "generate.steps_per_bar", 0)
  if "qpm" in g:
    config_checks.at_least(config, "generate.qpm", 1.0, float)
    if g.qpm > MAX_QPM:
      raise ConfigError(f"config.generate.qpm = {g.qpm!r}: expected at most {MAX_QPM:g}")
  if "structure" in g:
    structure = g.structure
    if not (isinstance(structure, str) and structure and structure.isalpha()
            and structure.isupper()):
      raise ConfigError(f"config.generate.structure = {structure!r}: expected section letters "
                        "such as AABA")


def check_resume(config, workdir, provenance=None, evaluating=False):
  """Refuses a resumed run (or another mode's reading) whose config or data differ from
  `workdir`'s."""
  config_checks.check_resume(config, workdir, SAFE_TO_CHANGE, ADDED_DEFAULTS,
                             provenance=provenance, evaluating=evaluating,
                             safe_to_evaluate=SAFE_TO_EVALUATE)
