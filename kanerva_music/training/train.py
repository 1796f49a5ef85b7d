"""Trains the DKM prior with Adam on sets of chorale episodes (paper section 4.1)."""

import functools
import math
from typing import Any, NamedTuple, Optional

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P
import optax

from kanerva_music.data import chorales
from kanerva_music.data import episodes
from kanerva_music.memory import model
from kanerva_music.training import config_checks
from music_runtime.files import metric_writing
from music_runtime.files import workdir_utils
from music_runtime.training import checkpointing
from music_runtime.training import sharding
from music_runtime.training import training_loop

EVAL_SPLITS = ("test", "validation")
_NAN_HINT = ("Try a lower --config.learning_rate or --config.model.write_solve_method=qr.")
NonFiniteLossError = workdir_utils.NonFiniteLossError
DATA = sharding.DATA


class TrainedMemory(NamedTuple):
  """What training (or restoring) a DKM hands to the report and the tools."""
  state: dict              # params, opt_state, step
  pools: dict              # {split: episodes.EpisodePool}, replicated over the mesh
  eval_sets: dict          # {split: [M, T, C]} the fixed evaluation episodes (`evaluation_sets`)
  elbo_bits_per_dim: dict  # {split: {mean, stderr, kl_memory_per_dim}}
  data_source: Any         # provenance.DataSource: where the chorales came from
  mesh: Any
  train_seconds: Optional[float] = None  # None when restored without training


def load_pools(config):
  """({split: EpisodePool} for train, validation and test, the `provenance.DataSource`)."""
  splits, source = chorales.load_chorales(config.data)
  pools = {chorales.SPLIT_NAMES[name]: episodes.make_pool(
      splits[name], config.data.episode_steps, config.data.rests, name=chorales.SPLIT_NAMES[name])
           for name in chorales.SPLITS}
  return pools, source


def num_cols(config):
  return config.data.episode_steps * chorales.NUM_VOICES


def create_state(config, pools=None):
  """{params, opt_state, step} at initialisation; the optimizer is `make_optimizer(config)`.
  `pools` give the training windows a PCA prior mean starts from (without them: a restore
  target of the right shapes)."""
  windows = None
  if pools is not None and config.model.init_mean == "pca":
    windows = episodes.pool_windows(jax.device_get(pools["train"]), config.data.episode_steps)
  params = model.init_params(jax.random.PRNGKey(config.seed), config.model, num_cols(config),
                             windows)
  return {"params": params, "opt_state": make_optimizer(config).init(params),
          "step": jnp.asarray(0, jnp.int32)}


def make_optimizer(config):
  return optax.adam(config.learning_rate)


def make_train_step(config, mesh):
  """A pure jitted step: samples its global batch on device from fold_in(rng, step), splits it
  over the mesh's data axis, and takes one Adam step on the averaged gradients."""
  optimizer = make_optimizer(config)
  shape = (config.batch_size, config.episodes_per_memory)
  sharding.check_divisible(config.batch_size, mesh, "batch_size")

  def local_gradients(params, batch, rngs):
    grad_fn = jax.value_and_grad(model.batch_objective, has_aux=True)
    (_, (metrics, _, _)), grads = grad_fn(params, batch, rngs, config.model,
                                       method=config.model.write_solve_method)
    return sharding.mean_over_shards((grads, metrics), mesh)

  gradients = sharding.per_shard(local_gradients, mesh, in_specs=(P(), P(DATA), P(DATA)),
                                 out_specs=P())

  @jax.jit
  def train_step(state, pool, rng):
    rng = jax.random.fold_in(rng, state["step"])
    rng_data, rng_address = jax.random.split(rng)
    batch = episodes.sample_episodes(pool, rng_data, shape, config.data.episode_steps)
    grads, metrics = gradients(state["params"], batch,
                               jax.random.split(rng_address, config.batch_size))
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    new_state = {"params": optax.apply_updates(state["params"], updates),
                 "opt_state": opt_state, "step": state["step"] + 1}
    return new_state, metrics

  return train_step


@functools.partial(jax.jit, static_argnames=("model_config", "mesh"))
def _per_memory_bits(params, batch, *, model_config, mesh):
  def local_bits(params, batch, rngs):
    _, (_, bits, kl_per_dim) = model.batch_objective(params, batch, rngs, model_config,
                                                     method=model_config.write_solve_method,
                                                     map_memories=True)
    return bits, kl_per_dim

  rngs = model.evaluation_write_keys(batch.shape[0])
  bits = sharding.per_shard(local_bits, mesh, in_specs=(P(), P(DATA), P(DATA)),
                            out_specs=(P(DATA), P(DATA)))(params, batch, rngs)
  # Replicated: every process can read all memories' values.
  return jax.lax.with_sharding_constraint(bits, sharding.replicated(mesh))


def per_memory_bits(config, params, batch, mesh):
  """(negative conditional ELBO bits, memory KL per dimension), each [M], of [M, T, C], the
  memories split over the mesh (M padded to a multiple of the devices)."""
  padded, count = sharding.pad_to_multiple(np.asarray(batch), mesh)
  bits, kl = _per_memory_bits(params, sharding.put(padded, sharding.split_over_data(mesh)),
                              model_config=config_checks.freeze(config.model), mesh=mesh)
  return np.asarray(bits, np.float64)[:count], np.asarray(kl, np.float64)[:count]


def evaluation_sets(config, pools):
  """Fixed, seeded evaluation episodes [M, T, C] per evaluation split."""
  return {split: episodes.evaluation_set(pools[split], config.eval.seed + i,
                                         config.eval.num_memories, config.episodes_per_memory,
                                         config.data.episode_steps)
          for i, split in enumerate(EVAL_SPLITS)}


def evaluate_elbo(config, params, eval_sets, mesh):
  """Negative conditional ELBO in bits per time step per voice (mean and standard error) and
  KL(q(M) || p(M)) in nats per dimension, per split."""
  results = {}
  for split, batch in eval_sets.items():
    bits, kl = per_memory_bits(config, params, batch, mesh)
    results[split] = {"mean": float(bits.mean()),
                      "stderr": float(bits.std(ddof=1) / math.sqrt(len(bits))),
                      "kl_memory_per_dim": float(kl.mean())}
  return results


def _no_heartbeat(what):
  del what


def run_loop(config, workdir, initial_state, step_fn, mesh, writer, evaluate, nan_hint,
             heartbeat):
  """`training_loop.run` with the config's steps, logging, evaluation and checkpoint cadence
  (both DKM trainers)."""
  return training_loop.run(
      workdir=workdir, initial_state=initial_state, step_fn=step_fn,
      num_steps=config.num_train_steps, log_every=config.log_every_steps,
      checkpoint_every=config.checkpoint_every_steps, keep=config.checkpoints_to_keep,
      mesh=mesh, writer=writer, evaluate=evaluate, eval_every=config.eval_every_steps,
      nan_hint=nan_hint, heartbeat=heartbeat)


def train_and_evaluate(config, workdir, heartbeat=_no_heartbeat):
  """Trains to `config.num_train_steps`, resuming from `workdir`; returns the final ELBO dict.
  `heartbeat(what)` is called after every step (see watchdog.py)."""
  mesh, pools, source = training_loop.prepare(config, workdir, validate=config_checks.validate,
                                              load_data=load_pools,
                                              check_resume=config_checks.check_resume)
  pools = sharding.put_replicated(pools, mesh)
  writer = metric_writing.MetricWriter(workdir)
  eval_sets = evaluation_sets(config, pools)
  train_step = make_train_step(config, mesh)
  rng = sharding.put_replicated(jax.random.PRNGKey(config.seed + 1), mesh)

  def elbo_scalars(elbo):
    return {f"{s}/neg_cond_elbo_bits": r["mean"] for s, r in elbo.items()}

  def evaluate(state, step):
    del step
    return elbo_scalars(evaluate_elbo(config, state["params"], eval_sets, mesh))

  trained = run_loop(config, workdir, create_state(config, pools),
                     lambda state, step: train_step(state, pools["train"], rng), mesh, writer,
                     evaluate, _NAN_HINT, heartbeat)
  state, train_seconds = trained.state, trained.train_seconds
  elbo = evaluate_elbo(config, state["params"], eval_sets, mesh)
  writer.write_scalars(config.num_train_steps, elbo_scalars(elbo))
  writer.close()
  logging.info("Final test negative conditional ELBO: %.4f +- %.4f bits per time step per voice "
               "(paper: 0.76 +- 0.002); validation %.4f +- %.4f. Training took %.1fs.",
               elbo["test"]["mean"], elbo["test"]["stderr"], elbo["validation"]["mean"],
               elbo["validation"]["stderr"], train_seconds)
  return TrainedMemory(state, pools, eval_sets, elbo, source, mesh, train_seconds)


def evaluate_checkpoint(config, workdir):
  """Evaluates the latest checkpoint in `workdir` without training (and without writing
  config.json: a config or data that differ from the run's are refused)."""
  config_checks.validate(config)
  mesh = sharding.make_mesh(config.mesh_devices)
  pools, source = load_pools(config)
  config_checks.check_resume(config, workdir, source.record(), evaluating=True)
  state, step = checkpointing.restore_trained(
      workdir, sharding.put_replicated(create_state(config), mesh),
      keep=config.checkpoints_to_keep)
  pools = sharding.put_replicated(pools, mesh)
  eval_sets = evaluation_sets(config, pools)
  elbo = evaluate_elbo(config, state["params"], eval_sets, mesh)
  logging.info("Step %d: test %.4f +- %.4f bits, validation %.4f +- %.4f bits (data: %s)", step,
               elbo["test"]["mean"], elbo["test"]["stderr"], elbo["validation"]["mean"],
               elbo["validation"]["stderr"], source.line())
  return TrainedMemory(state, pools, eval_sets, elbo, source, mesh)
