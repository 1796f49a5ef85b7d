"""Remembering like a listener (Rangasayee & Fan, sections 5-6; docs/dkm.md, "Per-voice noise"):
recall from a melodic cue, per voice, and per-voice capacity curves of the uniform memory against
melody-weighted ones (`model.voice_noise`, `memory/voiced.py`); one read each (lstsq is a
projection: re-reading changes nothing).

* Melodic cue: the `soprano` mask (only the soprano observed) of stored and unseen episodes, read
  by every read of the linear DKM, beside the list (the stored episode nearest by its soprano,
  `baselines.nearest_stored`) and holding the last chord; exact accuracy of alto, tenor and bass.
* Capacity by voice: memories of T independent test episodes (`capacity.independent_sets`),
  written and read (lstsq) with each setting's per-voice sigmas, half masked and from the melody;
  exact accuracy per voice. Every setting keeps the same K x C mean: equal bytes.
"""

import functools
from typing import Callable, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import sharded_reads
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from kanerva_music.memory import voiced
from music_runtime.running import config_checks

VOICE_NAMES = ("soprano", "alto", "tenor", "bass")
TASKS = ("half", "soprano")
CUE_READS = dkm.READ_METHODS
CUE_BASELINES = ("nearest_stored", "hold_last_chord")


def voice_sums(targets: jax.Array, estimates: jax.Array,
               scored: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(exact [4], count [4]): pitches of estimates [..., C] equal to targets' on the scored
  entries (broadcasting to [..., C]), summed per voice (column c is voice c mod 4)."""
  weight = jnp.broadcast_to(scored, targets.shape).astype(jnp.float32)
  exact = (pitch_metrics.to_pitch(estimates) == pitch_metrics.to_pitch(targets)) * weight
  per_voice = lambda v: jnp.sum(v.reshape(-1, voiced.NUM_VOICES), axis=0)
  return per_voice(exact), per_voice(weight)


def voice_accuracy(exact: np.ndarray, count: np.ndarray) -> dict:
  """{voice: exact accuracy or None where no entry of it was scored, "all": over every scored
  entry} from `voice_sums`."""
  exact, count = np.asarray(exact, np.float64), np.asarray(count, np.float64)
  out = {name: (float(e / c) if c else None) for name, e, c in zip(VOICE_NAMES, exact, count)}
  out["all"] = float(exact.sum() / count.sum()) if count.sum() else None
  return out


def _read(written: dict, cues: jax.Array, mask: Optional[jax.Array], model_config: ConfigDict,
          method: str, beta: ArrayLike = 1.0,
          voice_noise: Optional[jax.Array] = None) -> jax.Array:
  """Last iterates [M, T, C] of each memory's cues [M, T, C] read by `method` (one read; the
  attention read at inverse temperature `beta`), weighted by `voice_noise` [4] if given."""
  options = dict(num_iters=1, **model.solve_options(model_config), method=method, beta=beta,
                 top_k=model_config.attention_top_k)
  return dkm.map_memories(
      lambda m, x: model.iterate_read(m["memory"], x, mask, model_config, values=m["values"],
                                      voice_noise=voice_noise, **options)[-1], written, cues)


def _capacity_program(params, stored, masks, noises, *, model_config):
  """(exact, count) [N, tasks, 4] of memories of `stored` written and read with each of the
  sigmas noises [N, 4]: the settings are an argument, so one program serves them all."""
  def one_setting(noise):
    written = sharded_reads.write_memories(params, stored, model_config, precision="float32",
                                           voice_noise=noise)
    return jax.lax.map(lambda m: voice_sums(
        stored, _read(written, stored * m, m, model_config, "lstsq", voice_noise=noise), m == 0),
        masks)
  return jax.lax.map(one_setting, noises)


_capacity_sums = jax.jit(_capacity_program, static_argnames="model_config")


def capacity_by_voice(params: dict, model_config: ConfigDict, sets: Mapping[int, np.ndarray],
                      settings: Sequence[Sequence[float]],
                      heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """{setting name: {"voice_noise", "curves": {T: {task: voice_accuracy}}}} of memories of the
  sets {T: [M, T, C]} written and read (lstsq) with each setting's sigmas (S A T B)."""
  num_cols = next(iter(sets.values())).shape[-1]
  masks = jnp.asarray(np.stack([evaluate.observation_mask(task, 1, num_cols // 4, None)[0]
                                for task in TASKS]))
  noises = jnp.asarray(np.asarray(settings, np.float32))
  frozen = config_checks.freeze(model_config)
  out = {setting_name(n): {"voice_noise": [float(s) for s in n], "curves": {}} for n in settings}
  for size, stored in sorted(sets.items()):
    exact, count = jax.device_get(_capacity_sums(params, jnp.asarray(stored), masks, noises,
                                                 model_config=frozen))
    for i, noise in enumerate(settings):
      out[setting_name(noise)]["curves"][str(size)] = {
          task: voice_accuracy(exact[i, j], count[i, j]) for j, task in enumerate(TASKS)}
    heartbeat(f"report: listener capacity T={size}")
  return out


@functools.partial(jax.jit, static_argnames="name")
def _baseline_sums(episodes, stored, mask, *, name):
  masks = jnp.broadcast_to(mask, (stored.shape[0], stored.shape[-1]))
  return voice_sums(episodes, baselines.estimate(name, episodes, masks, stored, None), mask == 0)


def baseline_accuracy(name: str, episodes: np.ndarray, stored: np.ndarray,
                      mask: np.ndarray) -> dict:
  """`voice_accuracy` of the baseline `name` (`baselines.estimate`, one program) completing
  episodes [M, T, C] under one mask [C] from memories of stored [M, T, C]."""
  return voice_accuracy(*jax.device_get(_baseline_sums(
      jnp.asarray(episodes, jnp.float32), jnp.asarray(stored, jnp.float32),
      jnp.asarray(mask, jnp.float32), name=name)))


def list_by_voice(sets: Mapping[int, np.ndarray]) -> dict:
  """{T: {task: voice_accuracy}} of the list (`nearest_stored`: the stored episode nearest on
  the given entries, copied) on the capacity sets {T: [M, T, C]}: the bar beside the curves."""
  num_cols = next(iter(sets.values())).shape[-1]
  masks = {task: evaluate.observation_mask(task, 1, num_cols // 4, None)[0] for task in TASKS}
  return {str(size): {task: baseline_accuracy("nearest_stored", stored, stored, mask)
                      for task, mask in masks.items()}
          for size, stored in sorted(sets.items())}


def setting_name(voice_noise: Sequence[float]) -> str:
  """"uniform" when every voice has one sigma, else "melody_<w>x" with w = (the inner voices'
  mean sigma / the soprano's)^2: how much more a soprano entry weighs in the solves."""
  noise = [float(s) for s in voice_noise]
  if len(set(noise)) == 1:
    return "uniform"
  return f"melody_{(np.mean(noise[1:]) / noise[0]) ** 2:.3g}x"


def _cue_program(params, stored, queries, mask, beta, *, model_config):
  written = sharded_reads.write_memories(params, stored, model_config, precision="float32")
  sums = {method: voice_sums(queries, _read(written, queries * mask, mask, model_config, method,
                                            beta), mask == 0) for method in CUE_READS}
  return sums, written["memory"].mean


_cue_sums = jax.jit(_cue_program, static_argnames="model_config")


def melodic_cue(params: dict, model_config: ConfigDict, stored: np.ndarray, novel: np.ndarray,
                beta: float) -> dict:
  """{"reads": {read: {"recall", "novel": voice_accuracy}}, "baselines": {name: {"recall",
  "novel"}}, "soprano_block_condition"}: the soprano of stored episodes [M, T, C] (recall) and of
  unseen ones read through the memory of the stored (novel), by every read (attention at `beta`,
  the report's) and by the baselines; the median condition number of the memories' soprano
  columns (what the lstsq read inverts; K x S, square at S = K = 32)."""
  num_memories, _, num_cols = stored.shape
  mask = jnp.asarray(evaluate.observation_mask("soprano", 1, num_cols // 4, None)[0])
  frozen = config_checks.freeze(model_config)
  out: dict = {"reads": {}, "baselines": {}}
  for query, episodes in (("recall", stored), ("novel", novel)):
    sums, means = jax.device_get(_cue_sums(params, jnp.asarray(stored), jnp.asarray(episodes),
                                           mask, jnp.float32(beta), model_config=frozen))
    for method, (exact, count) in sums.items():
      out["reads"].setdefault(method, {})[query] = voice_accuracy(exact, count)
    for name in CUE_BASELINES:
      out["baselines"].setdefault(name, {})[query] = baseline_accuracy(name, episodes, stored,
                                                                       np.asarray(mask))
  # What the lstsq read solves from a melody: the soprano columns of each memory, [K, S].
  singular = np.linalg.svd(np.asarray(means, np.float64)[:, :, np.asarray(mask) != 0],
                           compute_uv=False)
  out["soprano_block_condition"] = float(np.median(singular[:, 0] / singular[:, -1]))
  return out


def _example_program(params, stored, mask, noises, *, model_config):
  def one(noise):
    written = sharded_reads.write_memories(params, stored[None], model_config,
                                           precision="float32", voice_noise=noise)
    return _read(written, (stored * mask)[None, :1], mask, model_config, "lstsq",
                 voice_noise=noise)[0, 0]
  return jax.lax.map(one, noises)


_example_reads = jax.jit(_example_program, static_argnames="model_config")


def recall_examples(params: dict, model_config: ConfigDict, stored: np.ndarray,
                    settings: Sequence[Sequence[float]], task: str = "soprano") -> np.ndarray:
  """[N, C] the lstsq read of the first of episodes stored [T, C] from its `task` cue, in a
  memory of all T written with each setting's sigmas: listening examples."""
  mask = evaluate.observation_mask(task, 1, stored.shape[-1] // 4, None)[0]
  return np.asarray(_example_reads(params, jnp.asarray(stored), jnp.asarray(mask),
                                   jnp.asarray(np.asarray(settings, np.float32)),
                                   model_config=config_checks.freeze(model_config)))
