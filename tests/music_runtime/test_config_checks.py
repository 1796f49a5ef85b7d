"""music_runtime.running.config_checks: finite fields; refusing a resume that would change a run."""

import math
import os

import ml_collections
import pytest

from music_runtime.files import workdir_utils
from music_runtime.running import config_checks

SAFE = ("num_train_steps", "data.path")
EVAL = ("eval.",)
DATA = {"kind": "jsb_file", "path": "/a.npz", "sha256": "a" * 64, "description": "file a"}


def _config(**overrides):
  config = ml_collections.ConfigDict({"num_train_steps": 10, "learning_rate": 1e-3,
                                      "data": {"path": "a.npz"},
                                      "eval": {"num_memories": 8}, "model": {"std": 0.5}})
  config.update_from_flattened_dict(overrides)
  return config


def _trained(tmp_path, step=10):
  workdir = str(tmp_path)
  workdir_utils.write_config_json(_config(), workdir, DATA)
  os.makedirs(os.path.join(workdir, "checkpoints", str(step)))
  return workdir


def _check(config, workdir, **kwargs):
  config_checks.check_resume(config, workdir, SAFE, safe_to_evaluate=EVAL, **kwargs)


@pytest.mark.parametrize("name, value", [("learning_rate", math.nan), ("learning_rate", math.inf),
                                         ("model.std", -math.inf)])
def test_nan_and_inf_are_refused_by_name(name, value):
  with pytest.raises(config_checks.ConfigError, match=f"config.{name} = .*expected a finite"):
    config_checks.check_finite(_config(**{name: value}))
  config_checks.check_finite(_config())


def test_a_resume_may_extend_training_but_not_shorten_it(tmp_path):
  workdir = _trained(tmp_path)
  _check(_config(num_train_steps=20), workdir, provenance=DATA)
  with pytest.raises(config_checks.ConfigError, match="num_train_steps = 5 is below step 10"):
    _check(_config(num_train_steps=5), workdir, provenance=DATA)
  _check(_config(num_train_steps=5), workdir, provenance=DATA, evaluating=True)


def test_evaluation_fields_change_only_in_evaluation(tmp_path):
  workdir = _trained(tmp_path)
  changed = _config(**{"eval.num_memories": 4})
  with pytest.raises(config_checks.ConfigError, match=r"eval.num_memories: 8 -> 4.*--mode=eval "
                                                      "may also change: eval."):
    _check(changed, workdir)
  _check(changed, workdir, evaluating=True)
  with pytest.raises(config_checks.ConfigError, match=r"model.std: 0.5 -> 0.2.*cannot be "
                                                      "evaluated"):
    _check(_config(**{"model.std": 0.2}), workdir, evaluating=True)


def test_other_data_is_refused_naming_both(tmp_path):
  workdir = _trained(tmp_path)
  other = {**DATA, "path": "/b.npz", "sha256": "b" * 64, "description": "file b"}
  _check(_config(**{"data.path": "elsewhere/a.npz"}), workdir, provenance=DATA)  # moved, same
  with pytest.raises(config_checks.ConfigError, match=r"trained on jsb_file /a.npz \(sha256 "
                                                      r"aaaaaaaaaaaa\), not on jsb_file /b.npz"):
    _check(_config(), workdir, provenance=other)


def test_evaluating_a_workdir_without_checkpoints_creates_nothing(tmp_path):
  missing = tmp_path / "missing"
  with pytest.raises(FileNotFoundError, match="No checkpoint in .*train first"):
    _check(_config(), str(missing), evaluating=True)
  assert not missing.exists()


@pytest.mark.parametrize("override,message", [
    ({"episodes_per_memory": 10 ** 9}, r"config.batch_size = \d+, config.episodes_per_memory = "
                                       r"1000000000, .*: a training step's memories and "
                                       r"episodes alone needs [\d,.]+ GiB, more than this "
                                       r"machine's"),
    ({"model.num_rows": 10 ** 9}, r"alone needs [\d,.]+ GiB"),
    ({"batch_size": 10 ** 8}, r"config.batch_size = 100000000, .* alone needs"),
    ({"num_train_steps": 10 ** 20}, r"config.num_train_steps = 100000000000000000000: expected "
                                    r"at most 2,147,483,647"),
    ({"seed": 2 ** 64}, r"config.seed = 18446744073709551616: expected at most"),
])
def test_sizes_beyond_the_machine_or_their_types_are_refused_from_the_config(override, message):
  from configs import chorales  # pylint: disable=import-outside-toplevel
  # pylint: disable-next=import-outside-toplevel
  from kanerva_music.training import config_checks as dkm_checks
  config = chorales.get_config()
  dkm_checks.validate(config)  # the default fits
  for name, value in override.items():
    parent, _, leaf = name.rpartition(".")
    (config_checks.field(config, parent) if parent else config)[leaf] = value
  with pytest.raises(config_checks.ConfigError, match=message):
    dkm_checks.validate(config)


def test_a_tcn_batch_beyond_the_machine_is_refused():
  from configs import groove  # pylint: disable=import-outside-toplevel
  # pylint: disable-next=import-outside-toplevel
  from tcn_wta.training import config_checks as tcn_checks
  config = groove.get_config()
  tcn_checks.validate(config)
  config.batch_size = 10 ** 9
  with pytest.raises(config_checks.ConfigError, match="a training step's codes alone needs"):
    tcn_checks.validate(config)
