"""The paper's evaluation: denoising, completion and capacity (seed sections 4.3-4.4, 5).

Memories of T test episodes are written with w = mu against the prior mean; each is then read
iteratively (seed eqs. 4-5) from cues that are noised (denoise) or masked (complete). Metrics are
taken only on the noised or masked entries, per iteration 0..num_iters (0 is the cue itself):
mean squared error in normalised units, and pitch accuracy after de-normalising and rounding
(exact, within 1 semitone, within 2 semitones = a whole step).
"""

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

from kanerva_music import dkm
from kanerva_music import episodes
from kanerva_music import model
from kanerva_music import sharding

MASKS = ("half", "three_quarters", "random_25", "random_50", "random_75")
METHODS = ("svd", "qr", "cholesky", "unmasked")
METRICS = ("mse", "acc_exact", "acc_1", "acc_2")
CAPACITY_SIZES = (8, 16, 32, 64, 128)
DATA = sharding.DATA


def observation_mask(name, num_memories, episode_steps, rng, num_voices=4):
  """[num_memories, C] {0,1} mask (1 = observed). Random masks: one per memory, shared by its
  episodes, so one factorisation serves the whole memory."""
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
  else:
    raise ValueError(f"Unknown mask {name!r}; expected one of {MASKS}")
  return np.asarray(mask, np.float32)


def write_memories(params, stored, model_config):
  """Posterior memories (batched) after writing stored [M, T, C] with w = mu (design "Write")."""
  prior = model.prior_memory(params)
  sigma = model_config.obs_noise_std

  def one(z):
    w = dkm.solve_address(prior.mean, z, obs_noise_std=sigma, prior_std=model_config.prior_std,
                          method=model_config.eval_solve_method)
    return dkm.write(prior, z, w, obs_noise_std=sigma)

  return jax.vmap(one)(stored)


def iteration_sums(target, iterates, scored):
  """({metric: [num_iters + 1] sums over entries where `scored`}, their count);
  iterates [I, M, T, C] incl. the cue."""
  weight = jnp.broadcast_to(scored, target.shape).astype(jnp.float32)

  def total(values):  # values [I, M, T, C]
    return jnp.sum(values * weight, axis=(1, 2, 3))

  semitones = jnp.abs(_to_pitch(iterates) - _to_pitch(target))
  return {"mse": total((iterates - target) ** 2), "acc_exact": total(semitones == 0),
          "acc_1": total(semitones <= 1), "acc_2": total(semitones <= 2)}, jnp.sum(weight)


def iteration_metrics(target, iterates, scored):
  """{metric: [num_iters + 1]} means over entries where `scored`."""
  sums, count = iteration_sums(target, iterates, scored)
  return {name: value / count for name, value in sums.items()}


def _to_pitch(x):
  return jnp.clip(jnp.round(episodes.denormalise(x)), episodes.PITCH_LOW, episodes.PITCH_HIGH)


def _read_shard(memories, targets, cues, mask, valid, *, num_iters, method, model_config,
                denoise, mesh):
  """One device's memories: iterates and the metric sums of the whole mesh (psum)."""
  kwargs = dict(num_iters=num_iters, obs_noise_std=model_config.obs_noise_std,
                prior_std=model_config.prior_std)
  if denoise:
    cue0 = cues
    read = lambda m, x: dkm.iterate_read(m, x, None, method=model_config.eval_solve_method,
                                         **kwargs)
    iterates = jax.vmap(read)(memories, cues)
    scored = jnp.ones_like(targets, bool)
  else:
    observed = mask[:, None, :] != 0
    cue0 = jnp.where(observed, cues, 0.0)
    if method == "unmasked":
      read = lambda m, x, _: dkm.iterate_read(m, x, None, method="svd", **kwargs)
    else:
      read = lambda m, x, k: dkm.iterate_read(m, x, k, method=method, **kwargs)
    iterates = jax.vmap(read)(memories, cue0, mask)
    scored = ~observed
  iterates = jnp.moveaxis(iterates, 1, 0)  # [I, M, T, C]
  all_iterates = jnp.concatenate([cue0[None], iterates], axis=0)
  sums, count = iteration_sums(targets, all_iterates, scored & valid[:, None, None])
  sums, count = sharding.sum_over_shards((sums, count), mesh)
  return {name: value / count for name, value in sums.items()}, all_iterates[:, :1]


@functools.partial(jax.jit, static_argnames=("num_iters", "method", "model_config", "mesh",
                                             "denoise"))
def _read_sharded(memories, targets, cues, mask, valid, *, num_iters, method, model_config, mesh,
                  denoise):
  read = functools.partial(_read_shard, num_iters=num_iters, method=method,
                           model_config=model_config, denoise=denoise, mesh=mesh)
  metrics, firsts = sharding.per_shard(read, mesh, in_specs=(P(DATA),) * 5,
                                       out_specs=(P(), P(None, DATA)))(
                                           memories, targets, cues, mask, valid)
  return metrics, firsts[:, 0]


@functools.partial(jax.jit, static_argnames=("model_config", "mesh"))
def _write_sharded(params, stored, *, model_config, mesh):
  write = lambda p, z: write_memories(p, z, model_config)
  return sharding.per_shard(write, mesh, in_specs=(P(), P(DATA)), out_specs=P(DATA))(params,
                                                                                       stored)


class ShardedSet:
  """Evaluation arrays padded to a multiple of the mesh's devices and split over them; `valid`
  marks the real memories (padding repeats the last one and is never scored)."""

  def __init__(self, mesh, count):
    self.mesh, self.count = mesh, count
    self.valid = self.put(np.ones(count, bool), fill=False)

  def put(self, x, fill=None):
    padded, _ = sharding.pad_to_multiple(np.asarray(x), self.mesh)
    if fill is not None:
      padded = padded.copy()
      padded[self.count:] = fill
    return sharding.put(padded, sharding.split_over_data(self.mesh))


def _score(memories, shards, targets, cues, mask, *, num_iters, method, model_config):
  """`read_and_score` on memories already split over `shards.mesh`."""
  denoise = mask is None
  if denoise:
    mask = np.ones((shards.count, np.shape(targets)[-1]), np.float32)
  return _read_sharded(memories, shards.put(targets), shards.put(cues), shards.put(mask),
                       shards.valid, num_iters=num_iters, method=method,
                       model_config=model_config, mesh=shards.mesh, denoise=denoise)


def read_and_score(memories, targets, cues, mask, *, num_iters, method, model_config,
                   mesh=None):
  """Iterative reads of cues [M, T, C] under mask [M, C] (None: denoise) and their metrics, the
  memories split over the mesh's devices (default: one device).

  Returns ({metric: [num_iters + 1]}, iterates [num_iters + 1, T, C] of memory 0). method
  "unmasked" is the original DKM read (seed 4.4): masked entries filled with 0, then read as if
  everything were observed, nothing clamped.
  """
  shards = ShardedSet(mesh or sharding.make_mesh(1), len(targets))
  return _score(jax.tree_util.tree_map(shards.put, memories), shards, targets, cues, mask,
                num_iters=num_iters, method=method, model_config=model_config)


def _lists(metrics):
  return {k: [float(v) for v in np.asarray(metrics[k])] for k in METRICS}


def evaluate(params, stored, novel, config, capacity_sets=None, mesh=None):
  """(report, examples): the report's `denoise`, `complete` and `capacity` sections, and the
  iterates of memory 0's first episodes for the figures.

  stored, novel: [M, T, C] test episodes; `stored` are written into the memories and `novel`
  are not. capacity_sets: {T: [M_T, T, C]} for the capacity sweep. The memories are split over
  the mesh's devices (default: one device); every process of a multi-host job must call this.
  """
  mesh = mesh or sharding.make_mesh(1)
  model_config = config.model
  frozen = freeze(model_config)
  num_iters = config.eval.num_iters
  rng = np.random.default_rng(config.eval.seed)
  stored, novel = np.asarray(stored), np.asarray(novel)
  num_memories, _, num_cols = stored.shape
  shards = ShardedSet(mesh, num_memories)
  memories = _write_sharded(params, shards.put(stored), model_config=frozen, mesh=mesh)

  def score(targets, cues, mask, method, memories=memories, shards=shards):
    return _score(memories, shards, targets, cues, mask, num_iters=num_iters, method=method,
                  model_config=frozen)

  noise = config.eval.denoise_noise_std * rng.standard_normal(stored.shape).astype(np.float32)
  denoise, denoise_iterates = score(stored, stored + noise, None, "svd")
  report = {"denoise": _lists(denoise), "complete": {}}
  examples = {"denoise": (stored[0], np.asarray(denoise_iterates))}
  episode_steps = num_cols // 4
  for mask_name in MASKS:
    mask = observation_mask(mask_name, num_memories, episode_steps, rng)
    report["complete"][mask_name] = {}
    for method in METHODS:
      report["complete"][mask_name][method] = {}
      for query, x in (("recall", stored), ("novel", novel)):
        metrics, iterates = score(x, x, mask, method)
        report["complete"][mask_name][method][query] = _lists(metrics)
        if method == "svd" and query == "recall":
          examples[f"complete_{mask_name}"] = (x[0], np.asarray(iterates), mask[0])
  if capacity_sets:
    report["capacity"] = {}
    for size, episodes_set in sorted(capacity_sets.items()):
      episodes_set = np.asarray(episodes_set)
      capacity_shards = ShardedSet(mesh, len(episodes_set))
      mems = _write_sharded(params, capacity_shards.put(episodes_set), model_config=frozen,
                            mesh=mesh)
      mask = observation_mask("half", episodes_set.shape[0], episode_steps, rng)
      metrics, _ = score(episodes_set, episodes_set, mask, "svd", mems, capacity_shards)
      report["capacity"][str(size)] = {k: v[-1] for k, v in _lists(metrics).items()}
  return report, examples


def freeze(model_config):
  """A hashable copy of a config, for `jit` static arguments."""
  import ml_collections  # pylint: disable=import-outside-toplevel
  return ml_collections.FrozenConfigDict(model_config)


def continue_chorale(params, model_config, given, stored, num_new_bars, steps_per_bar=16,
                     num_iters=10):
  """Extends `given` [2 bars * 4] (normalised, time-major) bar by bar (seed figure 4).

  Each new window is the last known bar followed by a masked bar, completed from a memory that
  stores `stored` [T, C]; returns the normalised [(2 + num_new_bars) * steps_per_bar, 4] grid.
  """
  memory = jax.tree_util.tree_map(lambda a: a[0], write_memories(params, stored[None],
                                                                 model_config))
  grid = np.asarray(given, np.float32).reshape(-1, 4)
  window_steps = 2 * steps_per_bar
  mask = np.repeat(np.arange(window_steps) < steps_per_bar, 4).astype(np.float32)
  for _ in range(num_new_bars):
    cue = np.concatenate([grid[-steps_per_bar:], np.zeros((steps_per_bar, 4), np.float32)])
    iterates = dkm.iterate_read(memory, cue.reshape(-1), mask, num_iters=num_iters,
                                obs_noise_std=model_config.obs_noise_std,
                                prior_std=model_config.prior_std,
                                method=model_config.eval_solve_method)
    new = np.asarray(iterates[-1]).reshape(window_steps, 4)[steps_per_bar:]
    grid = np.concatenate([grid, new])
  return grid
