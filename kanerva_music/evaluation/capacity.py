"""Capacity: how recall falls as a memory of K rows stores T episodes (beyond paper section 5).

For every K and T, memories of T test episodes are written as training writes, then read back
half masked, three-quarters masked and denoised (cue + N(0, sigma^2)) with the linear read
(`lstsq`) and the attention read; nearest neighbour and a modern Hopfield read over the stored
episodes themselves do not depend on K. `readout` is the accuracy of the memory's own read-outs
W R' of its episodes: the ceiling of any read that selects among them (attention), and the
measurement of what K rows cannot hold once T > K.

The memory of the trained model is used for its own K; other K use the same model config
with its initial (PCA) prior mean, untrained (stated in the report).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import sharded_reads
from kanerva_music.evaluation import storage
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from music_runtime.running import compile_ahead
from music_runtime.training import sharding

SIZES = (8, 16, 32, 64, 128, 256, 512)
CORRELATED_SIZES = (8, 16, 32, 64, 128)
ROWS = (32, 64, 128)
TASKS = ("half", "three_quarters", "denoise")
EPISODES_PER_SIZE = 512  # memories of T episodes: max(1, EPISODES_PER_SIZE // T) of them
NUM_ITERS = 1  # the linear read is a projection and attention a near-hard choice: one read


def _mask(name, num_memories, num_cols):
  """The evaluation's own "half" / "three_quarters" masks [M, C]."""
  return evaluate.observation_mask(name, num_memories, num_cols // 4, None)


def _accuracy(target, estimate, scored):
  metrics = pitch_metrics.iteration_metrics(target, estimate[None], scored)
  return metrics["acc_exact"][0]


def _memory_reads(params, stored, cues, beta, *, model_config, precisions=()):
  """{read: {task: exact accuracy}} of memories of `stored` [M, T, C]; cues: {task: [M, T, C]}.

  Reads of memories kept at float32 are scored on every task; `"<read>@<precision>"` entries
  score the half-masked task on the same memories (and read-outs) kept at each lower precision
  in `precisions` (of `storage.PRECISIONS`), one traced read mapped over them."""
  written = sharded_reads.write_memories(params, stored, model_config, precision="float32")
  # Both completion masks go through one traced read (lax.map), which halves compile time.
  masks = jnp.asarray(np.stack([_mask(name, 1, stored.shape[-1])[0] for name in TASKS[:2]]) != 0)
  kwargs = dict(num_iters=NUM_ITERS, **model.solve_options(model_config), beta=beta,
                top_k=model_config.attention_top_k)
  lower = [p for p in precisions if p != "float32"]
  half = masks[0]
  out = {}
  for read in ("lstsq", "attention"):
    def estimate(mask, cues_of_task, mean=written["memory"].mean, values=written["values"],
                 read=read):
      iterate = lambda m, u, v, x: model.iterate_read(dkm.Memory(m, u), x, mask, model_config,
                                                      method=read, values=v, **kwargs)[-1]
      return dkm.map_memories(iterate, mean, written["memory"].cov, values, cues_of_task)

    completion = jax.lax.map(
        lambda mask: _accuracy(stored, estimate(mask, cues["half"]), ~mask), masks)
    out[read] = {"half": completion[0], "three_quarters": completion[1],
                 "denoise": _accuracy(stored, estimate(None, cues["denoise"]),
                                      jnp.ones((1, 1, 1), bool))}
    if lower:
      kept = {"mean": jnp.stack([storage.quantize(written["memory"].mean, p) for p in lower]),
              "values": jnp.stack([storage.quantize(written["values"], p) for p in lower])}
      at_precision = jax.lax.map(lambda k: _accuracy(
          stored, estimate(half, cues["half"], k["mean"], k["values"]), ~half), kept)
      for i, precision in enumerate(lower):
        out[f"{read}@{precision}"] = {"half": at_precision[i]}
  readout = _accuracy(stored, written["values"], jnp.ones((1, 1, 1), bool))
  out["readout"] = {task: readout for task in TASKS}
  return out


_jitted_memory_reads = sharding.quick_jit(_memory_reads,
                                          static_argnames=("model_config", "precisions"))


def make_cues(stored, noise_std, seed):
  rng = np.random.default_rng(seed)
  noise = noise_std * rng.standard_normal(stored.shape).astype(np.float32)
  return {"half": stored, "three_quarters": stored, "denoise": stored + noise}


def independent_sets(pool, seed, episode_steps, sizes=SIZES):
  """{T: [M_T, T, C]}: episodes drawn as the evaluation draws them (any chorale)."""
  return {t: np.asarray(episodes.evaluation_set(pool, seed + t, max(1, EPISODES_PER_SIZE // t),
                                                t, episode_steps))
          for t in sizes}


def same_chorale_sets(pool, seed, episode_steps, sizes=CORRELATED_SIZES):
  """{T: [M_T, T, C]}: each memory holds T distinct windows of one chorale (correlated
  episodes, the paper's explanation of its flat capacity); chorales with fewer windows are
  skipped."""
  rng = np.random.default_rng(seed)
  windows = episodes.pool_windows(pool, episode_steps)
  offsets = np.asarray(pool.chorale_offsets)
  counts = np.diff(offsets)
  sets = {}
  for t in sizes:
    eligible = np.flatnonzero(counts >= t)
    if not len(eligible):
      continue
    chosen = rng.choice(eligible, size=max(1, EPISODES_PER_SIZE // t), replace=True)
    sets[t] = np.stack([windows[offsets[c] + rng.choice(counts[c], t, replace=False)]
                        for c in chosen]).astype(np.float32)
  return sets


class Plan(NamedTuple):
  """The programs of one set of capacity curves, each a function of its inverse temperature
  (beta -> `compile_ahead.Call`), so that they can be compiled before the betas are chosen."""
  reads: dict      # {T: {K: memory reads (beta: the attention read's)}}
  baselines: dict  # {T: {(name, task): K-independent read (beta: the Hopfield read's)}}


def _read_call(params, stored, cues, model_config, precisions, beta):
  return compile_ahead.call(_jitted_memory_reads(), params, stored, cues,
                            jnp.asarray(beta, jnp.float32), model_config=model_config,
                            precisions=precisions)


def plan(params_by_rows, model_config_by_rows, sets, noise_std, seed, precisions_by_rows=None):
  """The Plan of curves over the sets {T: [M, T, C]}, for every K of params_by_rows; memories
  of K rows are also read half masked at each of `precisions_by_rows[K]` (the storage
  frontier's)."""
  precisions_by_rows = precisions_by_rows or {}
  reads, baselines_by_size = {}, {}
  for size, stored in sorted(sets.items()):
    cues = {k: jnp.asarray(v) for k, v in make_cues(stored, noise_std, seed + size).items()}
    reads[size] = {rows: functools.partial(_read_call, params, jnp.asarray(stored), cues,
                                           model_config_by_rows[rows],
                                           tuple(precisions_by_rows.get(rows, ())))
                   for rows, params in params_by_rows.items()}
    num_memories, _, num_cols = stored.shape
    baselines_by_size[size] = {
        (name, task): functools.partial(
            baselines.score_call, name, stored, cues[task],
            None if task == "denoise" else _mask(task, num_memories, num_cols), stored, None,
            quick_compile=True)
        for name in ("nearest_stored", "modern_hopfield") for task in TASKS}
  return Plan(reads, baselines_by_size)


def programs(*plans):
  """One call per distinct program of the plans (the completion tasks differ only in their masks'
  values), for `compile_ahead`."""
  any_beta = 1.0  # an argument of the programs (a float32 array), not a constant in them
  return [read(any_beta) for p in plans for by_rows in p.reads.values()
          for read in by_rows.values()] + [
      calls[name, task](any_beta) for p in plans for calls in p.baselines.values()
      for name in ("nearest_stored", "modern_hopfield") for task in ("half", "denoise")]


def curves(curve_plan, attention_beta, hopfield_beta, heartbeat=lambda what: None):
  """{read: {K or "all": {T: {task: {"acc_exact": exact}}}}} of a Plan; reads of memories kept at
  lower precisions are "<read>@<precision>" (half masked only)."""
  out = {"lstsq": {}, "attention": {}, "readout": {}, "nearest_stored": {"all": {}},
         "modern_hopfield": {"all": {}}}
  for size, calls in curve_plan.baselines.items():
    for (name, task), call in calls.items():
      metrics = call(hopfield_beta)()
      out[name]["all"].setdefault(str(size), {})[task] = {
          "acc_exact": float(metrics["acc_exact"][0])}
    for rows, read in curve_plan.reads[size].items():
      for name, by_task in read(attention_beta)().items():
        out.setdefault(name, {}).setdefault(str(rows), {})[str(size)] = {
            k: {"acc_exact": float(v)} for k, v in by_task.items()}
      heartbeat(f"report: capacity K={rows} T={size}")
  return out


def largest_size(curve, task="half", threshold=0.9):
  """The largest T whose accuracy is >= threshold (0 if none)."""
  sizes = [int(t) for t, by_task in curve.items() if by_task[task]["acc_exact"] >= threshold]
  return max(sizes, default=0)
