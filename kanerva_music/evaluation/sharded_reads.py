"""The evaluation's programs: memories written and read on the mesh's devices (each device its
share of the memories, metrics summed over all), each offered as a `compile_ahead.Call` so that
the evaluation compiles its programs together before running any (`evaluate.evaluate`)."""

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import storage
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from music_runtime.running import compile_ahead
from music_runtime.training import sharding

DATA = sharding.DATA


def write_memories(params, stored, model_config, rngs=None, precision=None, voice_noise=None):
  """{"memory": posterior memories, "values": their read-outs [M, T, C] of the stored episodes}
  after writing stored [M, T, C] as training writes (`model.store`, with `voice_noise` if given);
  rngs [M] default to `model.evaluation_write_keys`. The posterior mean and the read-outs are
  kept at `precision` (default `model_config.memory_precision`, see `storage.quantize`)."""
  if rngs is None:
    rngs = model.evaluation_write_keys(stored.shape[0])
  if precision is None:
    precision = model_config.get("memory_precision", "float32")

  def one(z, r):
    written = model.store(params, z, model_config, r, method=model_config.write_solve_method,
                          voice_noise=voice_noise)
    kept = dkm.Memory(storage.quantize(written.posterior.mean, precision), written.posterior.cov)
    return {"memory": kept,
            "values": storage.quantize(dkm.read(written.posterior, written.w), precision)}

  return dkm.map_memories(one, stored, rngs)


def _read_shard(memories, targets, cues, mask, valid, beta, *, num_iters, method, model_config,
                denoise, mesh):
  """One device's memories: iterates and the metric sums of the whole mesh (psum)."""
  kwargs = dict(num_iters=num_iters, **model.solve_options(model_config), beta=beta,
                top_k=model_config.attention_top_k)
  if method == "unmasked":  # the original DKM's completion: read as if all were observed
    method, mask_of = model_config.read_method, lambda k: None
  else:
    mask_of = lambda k: k
  read = lambda m, x, k: model.iterate_read(m["memory"], x, mask_of(k), model_config,
                                            method=method, values=m["values"], **kwargs)
  if denoise:
    cue0 = cues
    iterates = dkm.map_memories(lambda m, x: read(m, x, None), memories, cues)
    scored = jnp.ones_like(targets, bool)
  else:
    observed = mask[:, None, :] != 0
    cue0 = jnp.where(observed, cues, 0.0)
    iterates = dkm.map_memories(read, memories, cue0, mask)
    scored = ~observed
  iterates = jnp.moveaxis(iterates, 1, 0)  # [I, M, T, C]
  all_iterates = jnp.concatenate([cue0[None], iterates], axis=0)
  sums, count = pitch_metrics.iteration_sums(targets, all_iterates, scored & valid[:, None, None])
  sums, count = sharding.sum_over_shards((sums, count), mesh)
  return {name: value / count for name, value in sums.items()}, all_iterates[:, :1]


@functools.partial(jax.jit, static_argnames=("num_iters", "method", "model_config", "mesh",
                                             "denoise"))
def _read_sharded(memories, targets, cues, mask, valid, beta, *, num_iters, method, model_config,
                  mesh, denoise):
  read = functools.partial(_read_shard, num_iters=num_iters, method=method,
                           model_config=model_config, denoise=denoise, mesh=mesh)
  metrics, firsts = sharding.per_shard(read, mesh, in_specs=(P(DATA),) * 5 + (P(),),
                                       out_specs=(P(), P(None, DATA)))(
                                           memories, targets, cues, mask, valid, beta)
  return metrics, firsts[:, 0]



@functools.partial(jax.jit, static_argnames=("model_config", "mesh"))
def _write_sharded(params, stored, rngs, *, model_config, mesh):
  write = lambda p, z, r: write_memories(p, z, model_config, r)
  return sharding.per_shard(write, mesh, in_specs=(P(), P(DATA), P(DATA)), out_specs=P(DATA))(
      params, stored, rngs)


def write_call(params, shards, stored, model_config):
  rngs = np.asarray(model.evaluation_write_keys(shards.count))
  return compile_ahead.call(_write_sharded, params, shards.put(stored), shards.put(rngs),
                            model_config=model_config, mesh=shards.mesh)


def write_sharded(params, shards, stored, model_config):
  """Memories of stored [M, T, C], split over `shards.mesh` (see ShardedSet)."""
  return write_call(params, shards, stored, model_config)()


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


def score_call(memories, shards, targets, cues, mask, *, num_iters, method, model_config,
                beta=0.0):
  """The `_read_sharded` call of `score` (a `compile_ahead.Call`: compile it with others, then
  call it)."""
  denoise = mask is None
  if denoise:
    mask = np.ones((shards.count, np.shape(targets)[-1]), np.float32)
  return compile_ahead.call(
      _read_sharded, memories, shards.put(targets), shards.put(cues), shards.put(mask),
      shards.valid, jnp.asarray(beta, jnp.float32), num_iters=num_iters, method=method,
      model_config=model_config, mesh=shards.mesh, denoise=denoise)


def score(*args, **kwargs):
  """`read_and_score` on memories already split over `shards.mesh`."""
  return score_call(*args, **kwargs)()


def read_and_score(memories, targets, cues, mask, *, num_iters, method, model_config,
                   mesh=None, beta=0.0):
  """Iterative reads of cues [M, T, C] under mask [M, C] (None: denoise) and their metrics, the
  memories ({"memory", "values"} as `write_memories` returns them) split over the mesh's devices
  (default: one device); `beta` is the attention read's inverse temperature.

  Returns ({metric: [num_iters + 1]}, iterates [num_iters + 1, T, C] of memory 0). method
  "unmasked" is the original DKM read (paper 4.4): masked entries filled with 0, then read as if
  everything were observed, nothing clamped.
  """
  shards = ShardedSet(mesh or sharding.make_mesh(1), len(targets))
  return score(jax.tree_util.tree_map(shards.put, memories), shards, targets, cues, mask,
                num_iters=num_iters, method=method, model_config=model_config, beta=beta)
