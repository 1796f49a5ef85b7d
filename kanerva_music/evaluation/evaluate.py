"""The paper's evaluation: denoising, completion and capacity (paper sections 4.3-4.4, 5).

Memories of T test episodes are written with w = mu against the prior mean; each is then read
iteratively (paper eqs. 4-5) from cues that are noised (denoise) or masked (complete). Metrics are
taken only on the noised or masked entries, per iteration 0..num_iters (0 is the cue itself):
mean squared error in normalised units, and pitch accuracy after de-normalising and rounding
(exact, within 1 semitone, within 2 semitones = a whole step).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import sharded_reads
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from music_runtime.running import compile_ahead
from music_runtime.running import config_checks
from music_runtime.training import sharding

MASKS = ("half", "three_quarters", "random_25", "random_50", "random_75", "soprano", "bass",
         "outer")
# The voices each whole-voice mask observes (0 soprano, 1 alto, 2 tenor, 3 bass).
GIVEN_VOICES = {"soprano": (0,), "bass": (3,), "outer": (0, 3)}
# Every read of dkm.SOLVE_METHODS, and "unmasked": the original DKM's completion (paper 4.4).
METHODS = dkm.READ_METHODS + ("unmasked",)
DENOISE_METHODS = dkm.READ_METHODS
ATTENTION_BETAS = (100.0, 1000.0, 1e4, 1e5)
DATA = sharding.DATA


def observation_mask(name, num_memories, episode_steps, rng, num_voices=4):
  """[num_memories, C] {0,1} mask (1 = observed). Random masks: one per memory, shared by its
  episodes, so one factorisation serves the whole memory. "soprano", "bass" and "outer" observe
  whole voices (GIVEN_VOICES): a melody or bass line to harmonise."""
  num_cols = episode_steps * num_voices
  step = np.arange(num_cols) // num_voices
  if name == "half":
    mask = np.broadcast_to(step < episode_steps // 2, (num_memories, num_cols))
  elif name == "three_quarters":
    mask = np.broadcast_to(step < episode_steps // 4, (num_memories, num_cols))
  elif name.startswith("random_"):
    fraction = int(name.split("_")[1]) / 100
    num_masked = int(round(fraction * num_cols))
    order = np.argsort(rng.random((num_memories, num_cols)), axis=1)
    mask = np.ones((num_memories, num_cols), bool)
    np.put_along_axis(mask, order[:, :num_masked], False, axis=1)
  elif name in GIVEN_VOICES:
    voice = np.arange(num_cols) % num_voices
    mask = np.broadcast_to(np.isin(voice, GIVEN_VOICES[name]), (num_memories, num_cols))
  else:
    raise ValueError(f"Unknown mask {name!r}; expected one of {MASKS}")
  return np.asarray(mask, np.float32)


def _lists(metrics):
  return {k: [float(v) for v in np.asarray(metrics[k])] for k in pitch_metrics.METRICS}


def make_tasks(config, stored):
  """The seeded cues every read and baseline is scored on: {"denoise_cue": stored + noise
  [M, T, C], "masks": {name: [M, C]}} (paper 4.3-4.4)."""
  rng = np.random.default_rng(config.eval.seed)
  stored = np.asarray(stored)
  num_memories, _, num_cols = stored.shape
  noise = config.eval.denoise_noise_std * rng.standard_normal(stored.shape).astype(np.float32)
  masks = {name: observation_mask(name, num_memories, num_cols // 4, rng) for name in MASKS}
  return {"denoise_cue": stored + noise, "masks": masks}


def choose_attention_beta(params, config, stored, novel, mesh=None, betas=ATTENTION_BETAS):
  """The attention read's beta with the best mean of stored and unseen exact accuracy, half
  masked, on the given (validation) memories; returns (beta, {beta: that mean})."""
  mesh = mesh or sharding.make_mesh(1)
  frozen = config_checks.freeze(config.model)
  stored, novel = np.asarray(stored), np.asarray(novel)
  shards = sharded_reads.ShardedSet(mesh, len(stored))
  memories = sharded_reads.write_sharded(params, shards, stored, frozen)
  mask = observation_mask("half", len(stored), stored.shape[-1] // 4, None)
  exact = lambda beta, x: float(sharded_reads.score(memories, shards, x, x, mask, num_iters=1,
                                       method="attention", model_config=frozen,
                                       beta=beta)[0]["acc_exact"][-1])
  return best_on_validation(betas, lambda beta: (exact(beta, stored), exact(beta, novel)))


def best_on_validation(candidates, exact_of):
  """(the candidate with the best mean of exact_of(candidate) = (stored, unseen) accuracy,
  {candidate: that mean}): how inverse temperatures are chosen on validation memories."""
  means = {c: float(np.mean(exact_of(c))) for c in candidates}
  return max(means, key=means.get), means


def evaluate(params, stored, novel, tasks, config, capacity_sets=None, mesh=None,
             heartbeat=lambda what: None, beta=None):
  """(report, examples): the report's `denoise`, `denoise_by_read`, `complete` and `capacity`
  sections, and the iterates of memory 0's first episodes under the headline read
  (`config.model.read_method`) for the figures.

  stored, novel: [M, T, C] test episodes; `stored` are written into the memories and `novel`
  are not; tasks: `make_tasks(config, stored)`. capacity_sets: {T: [M_T, T, C]} for the capacity
  sweep. The memories are split over the mesh's devices (default: one device); every process of
  a multi-host job must call this. `heartbeat(stage)` is called after every read. `beta` is the
  attention read's (default: config.model.attention_beta).
  """
  beta = config.model.attention_beta if beta is None else beta
  mesh = mesh or sharding.make_mesh(1)
  frozen = config_checks.freeze(config.model)
  headline = config.model.read_method
  num_iters = config.eval.num_iters
  stored, novel = np.asarray(stored), np.asarray(novel)
  shards = sharded_reads.ShardedSet(mesh, len(stored))
  memories = sharded_reads.write_sharded(params, shards, stored, frozen)

  def score_call(targets, cues, mask, method, memories=memories, shards=shards):
    return sharded_reads.score_call(memories, shards, targets, cues, mask, num_iters=num_iters,
                       method=method, model_config=frozen, beta=beta)

  def score(targets, cues, mask, method, memories=memories, shards=shards):
    out = jax.block_until_ready(score_call(targets, cues, mask, method, memories, shards)())
    heartbeat(f"report: {method} read")
    return out

  # Every read program at once (they differ in method, not shapes): on several cores
  # compilation is most of this function's time.
  any_mask = next(iter(tasks["masks"].values()))
  compile_ahead.compile_all(
      [score_call(stored, tasks["denoise_cue"], None, method) for method in DENOISE_METHODS]
      + [score_call(stored, stored, any_mask, method) for method in METHODS])
  report = {"denoise_by_read": {}, "complete": {}}
  examples = {}
  for method in DENOISE_METHODS:
    metrics, iterates = score(stored, tasks["denoise_cue"], None, method)
    report["denoise_by_read"][method] = _lists(metrics)
    if method == headline:
      examples["denoise"] = (stored[0], np.asarray(iterates))
  report["denoise"] = report["denoise_by_read"][headline]
  for mask_name, mask in tasks["masks"].items():
    report["complete"][mask_name] = {}
    for method in METHODS:
      report["complete"][mask_name][method] = {}
      for query, x in (("recall", stored), ("novel", novel)):
        metrics, iterates = score(x, x, mask, method)
        report["complete"][mask_name][method][query] = _lists(metrics)
        if method == headline and query == "recall":
          examples[f"complete_{mask_name}"] = (x[0], np.asarray(iterates), mask[0])
  if capacity_sets:
    report["capacity"] = _capacity(params, capacity_sets, mesh, frozen, score_call, heartbeat)
  return report, examples


def _capacity(params, capacity_sets, mesh, model_config, score_call, heartbeat):
  """report["capacity"]: {T: half-masked metrics of memories of T episodes (the headline read)};
  every size's write, then every size's read, compiled at once."""
  sets = {size: np.asarray(s) for size, s in sorted(capacity_sets.items())}
  shards = {size: sharded_reads.ShardedSet(mesh, len(s)) for size, s in sets.items()}
  writes = {size: sharded_reads.write_call(params, shards[size], s, model_config)
            for size, s in sets.items()}
  compile_ahead.compile_all(list(writes.values()))
  reads = {size: score_call(s, s, observation_mask("half", len(s), s.shape[-1] // 4, None),
                            model_config.read_method, writes[size](), shards[size])
           for size, s in sets.items()}
  compile_ahead.compile_all(list(reads.values()))
  report = {}
  for size, read in reads.items():
    report[str(size)] = {k: v[-1] for k, v in _lists(read()[0]).items()}
    heartbeat("report: capacity")
  return report


@functools.partial(jax.jit, static_argnames=("model_config", "num_iters"))
def _headline_read(memory, cue, mask, values, beta, *, model_config, num_iters):
  """`model.iterate_read` with the config's read, as one program (op by op, the first call
  compiled each of the read's operations on its own)."""
  return model.iterate_read(memory, cue, mask, model_config, num_iters=num_iters,
                            **model.solve_options(model_config), method=model_config.read_method,
                            values=values, beta=beta, top_k=model_config.attention_top_k)


def continue_chorale(params, model_config, given, stored, num_new_bars, steps_per_bar=16,
                     num_iters=10, beta=None):
  """Extends `given` [2 bars * 4] (normalised, time-major) bar by bar (paper figure 4).

  Each new window is the last known bar followed by a masked bar, completed from a memory that
  stores `stored` [T, C]; returns the normalised [(2 + num_new_bars) * steps_per_bar, 4] grid.
  """
  model_config = config_checks.freeze(model_config)
  written = jax.tree_util.tree_map(lambda a: a[0], sharded_reads.write_memories(
      params, stored[None], model_config))
  grid = np.asarray(given, np.float32).reshape(-1, 4)
  window_steps = 2 * steps_per_bar
  mask = np.repeat(np.arange(window_steps) < steps_per_bar, 4).astype(np.float32)
  beta = model_config.attention_beta if beta is None else beta
  for _ in range(num_new_bars):
    cue = np.concatenate([grid[-steps_per_bar:], np.zeros((steps_per_bar, 4), np.float32)])
    iterates = _headline_read(written["memory"], cue.reshape(-1), mask, written["values"],
                              jnp.asarray(beta, jnp.float32), model_config=model_config,
                              num_iters=num_iters)
    new = np.asarray(iterates[-1]).reshape(window_steps, 4)[steps_per_bar:]
    grid = np.concatenate([grid, new])
  return grid
