"""kanerva_music.evaluation.listener: per-voice accuracy that sums to the overall figure, the
settings' names, and per-voice capacity reads that are the evaluation's own lstsq read."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import chorales as chorales_config
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import listener
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import sharded_reads
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from kanerva_music.training import config_checks
from tests.conftest import tiny_config


def test_per_voice_accuracy_sums_to_the_overall_figure():
  rng = np.random.default_rng(0)
  targets = rng.uniform(-1, 1, size=(3, 5, 16)).astype(np.float32)
  estimates = np.where(rng.random(targets.shape) < 0.6, targets, -targets)
  scored = rng.random((3, 1, 16)) < 0.7
  exact, count = jax.device_get(listener.voice_sums(jnp.asarray(targets), jnp.asarray(estimates),
                                                    jnp.asarray(scored)))
  equal = (np.asarray(pitch_metrics.to_pitch(estimates))
           == np.asarray(pitch_metrics.to_pitch(targets)))
  weight = np.broadcast_to(scored, targets.shape)
  for v in range(4):
    assert exact[v] == np.sum(equal[..., v::4] & weight[..., v::4])
    assert count[v] == np.sum(weight[..., v::4])
  acc = listener.voice_accuracy(exact, count)
  overall = pitch_metrics.iteration_metrics(jnp.asarray(targets), jnp.asarray(estimates)[None],
                                            jnp.asarray(scored))["acc_exact"][0]
  assert acc["all"] == pytest.approx(float(overall), abs=1e-6)
  assert acc["all"] == pytest.approx(sum(acc[listener.VOICE_NAMES[v]] * count[v] for v in range(4))
                                     / count.sum())
  assert listener.voice_accuracy(exact, np.array([0, 1, 1, 1]))["soprano"] is None


def test_settings_are_named_by_the_melody_weight():
  assert listener.setting_name([0.03] * 4) == "uniform"
  assert listener.setting_name([0.015, 0.03, 0.03, 0.03]) == "melody_4x"
  assert listener.setting_name([0.0075, 0.03, 0.03, 0.03]) == "melody_16x"


def test_the_uniform_capacity_read_is_the_evaluations_lstsq_read(tiny_chorale_npz):
  config = tiny_config(tiny_chorale_npz)
  num_cols = 4 * config.data.episode_steps
  params = model.init_params(jax.random.PRNGKey(0), config.model, num_cols)
  stored = np.random.default_rng(1).uniform(-1, 1, size=(2, 6, num_cols)).astype(np.float32)
  sigma = config.model.obs_noise_std
  out = listener.capacity_by_voice(params, config.model, {6: stored},
                                   [(sigma,) * 4, (sigma / 4,) + (sigma,) * 3])
  assert set(out) == {"uniform", "melody_16x"}
  mask = evaluate.observation_mask("half", 1, num_cols // 4, None)[0]
  frozen = config_checks.freeze(config.model)
  written = sharded_reads.write_memories(params, jnp.asarray(stored), frozen, precision="float32")
  reads = dkm.map_memories(
      lambda m, x: dkm.iterate_read(m, x, mask, num_iters=1, method="lstsq",
                                    **model.solve_options(config.model))[-1],
      written["memory"], jnp.asarray(stored * mask))
  expected = pitch_metrics.iteration_metrics(jnp.asarray(stored), reads[None],
                                             jnp.asarray(mask == 0))["acc_exact"][0]
  assert out["uniform"]["curves"]["6"]["half"]["all"] == pytest.approx(float(expected), abs=1e-6)
  assert out["melody_16x"]["curves"]["6"]["soprano"]["soprano"] is None


@pytest.mark.parametrize("variant,field,value,message", [
    ("listener", "eval.listener_voice_noises", ((0.03, 0.03, 0.03),), "listener_voice_noises"),
    ("listener", "eval.listener_voice_noises", ((0.03, -1.0, 0.03, 0.03),), "four positive"),
    ("listener", "eval.listener_sizes", (), "listener_sizes"),
    ("quick", "eval.recall_sizes", (8, 0), "recall_sizes"),
    ("quick", "eval.capacity_sizes", (8, 2.5), "capacity_sizes"),
    ("prior_quick", "model.voice_noise", (0.01, 0.03, 0.03, 0.03), "linear DKM's voices")])
def test_bad_listener_settings_are_refused_naming_the_field(variant, field, value, message):
  config = chorales_config.get_config(variant)
  config_checks.validate(config)
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(config_checks.ConfigError, match=message):
    config_checks.validate(config)
