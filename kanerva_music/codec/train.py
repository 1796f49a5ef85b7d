"""Trains the codec DKM (`objective.memory_loss`) with AdamW on sets of chorale episodes.

A training example is a memory: T episodes written into it and T others read from it unstored,
each episode transposed by a random number of semitones; `batch_size` counts memories.
"""

import functools
import math
from typing import Any, Callable, Mapping, NamedTuple, Optional

from absl import logging
import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from ml_collections import ConfigDict
import numpy as np
import optax

from kanerva_music.codec import objective
from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.training import config_checks
from kanerva_music.training import train as dkm_train
from music_runtime.files import metric_writing
from music_runtime.training import checkpointing
from music_runtime.training import sharding
from music_runtime.training import training_loop

DATA = sharding.DATA
ELBO_SAMPLES = 4  # reparameterised samples per memory in the reported ELBO
_NAN_HINT = "Try a lower --config.learning_rate."


class TrainedCodec(NamedTuple):
  """What training (or restoring) the codec DKM hands to its report and the tools."""
  state: dict              # params, opt_state, step
  codec: objective.Codec
  pools: dict              # {split: episodes.EpisodePool}
  eval_sets: dict          # {split: [M, T, C]} the linear DKM's fixed evaluation episodes
  elbo: dict               # {split: {bits_per_note, conditional_bits_per_note, stderr, ...}}
  data_source: Any  # provenance.DataSource
  mesh: Any
  train_seconds: Optional[float] = None


def make_optimizer(config: ConfigDict) -> optax.GradientTransformation:
  """AdamW, a linear warm-up and a cosine decay to `final_learning_rate_fraction`."""
  c = config.codec
  schedule = optax.warmup_cosine_decay_schedule(
      0.0, config.learning_rate, min(c.warmup_steps, config.num_train_steps // 2),
      config.num_train_steps, config.learning_rate * c.final_learning_rate_fraction)
  return optax.adamw(schedule, weight_decay=c.weight_decay)


def create_state(config: ConfigDict, codec: objective.Codec) -> dict:
  """The initial training state {"params", "opt_state", "step"} (float32 parameters)."""
  params = objective.init_params(codec, jax.random.PRNGKey(config.seed), config.model)
  params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)
  return {"params": params, "opt_state": make_optimizer(config).init(params),
          "step": jnp.asarray(0, jnp.int32)}


def make_train_step(config: ConfigDict, codec: objective.Codec,
                    mesh: Mesh) -> Callable[[dict, jax.Array, jax.Array], tuple[dict, dict]]:
  """A pure jitted step: samples 2T episodes per memory on device from fold_in(rng, step),
  transposes each, splits the memories over the mesh, one AdamW step on the mean loss."""
  optimizer = make_optimizer(config)
  num_episodes = config.episodes_per_memory
  steps = config.data.episode_steps
  sharding.check_divisible(config.batch_size, mesh, "batch_size")

  def local_gradients(params, stored, novel, rngs):
    def loss_fn(p):
      loss, metrics = jax.vmap(
          lambda s, n, r: objective.memory_loss(codec, p, s, n, r, config))(stored, novel, rngs)
      return jnp.mean(loss), jax.tree_util.tree_map(jnp.mean, metrics)

    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return sharding.mean_over_shards((grads, metrics), mesh)

  gradients = sharding.per_shard(local_gradients, mesh, in_specs=(P(), P(DATA), P(DATA), P(DATA)),
                                 out_specs=P())

  @jax.jit
  def train_step(state, pool, rng):
    rng = jax.random.fold_in(rng, state["step"])
    rng_data, rng_shift, rng_loss = jax.random.split(rng, 3)
    batch = episodes.sample_episodes(pool, rng_data, (config.batch_size, 2 * num_episodes), steps)
    notes = pitch_classes.transpose(rng_shift, pitch_classes.from_normalised(batch, steps),
                                config.codec.transpose_semitones)
    grads, metrics = gradients(state["params"], notes[:, :num_episodes], notes[:, num_episodes:],
                               jax.random.split(rng_loss, config.batch_size))
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    return {"params": optax.apply_updates(state["params"], updates), "opt_state": opt_state,
            "step": state["step"] + 1}, metrics

  return train_step


@functools.partial(jax.jit, static_argnames=("codec", "model_config"))
def _memory_elbo(params, notes, rng, *, codec, model_config):
  """(ELBO, its KL(q(M) || p(M))) in nats of one memory [T, S, 4], ELBO_SAMPLES samples."""
  def one(r):
    written = objective.write(codec, params, notes, model_config, r)
    terms = objective.elbo_terms(codec, params, notes, written, model_config, r)
    return terms.log_likelihood - terms.kl_address - terms.kl_memory, terms.kl_memory
  elbo, kl = jax.lax.map(one, jax.random.split(rng, ELBO_SAMPLES))
  return jnp.mean(elbo), jnp.mean(kl)


def evaluate_elbo(config: ConfigDict, codec: objective.Codec, params: dict,
                  eval_sets: Mapping[str, np.ndarray]) -> dict:
  """Bits per note of the whole episode, -L_T / (T S 4 ln 2) (a lossless code length), and the
  paper's conditional version without KL(q(M) || p(M)), mean and standard error over memories
  of the normalised evaluation sets {split: [M, T, C]}."""
  frozen = config_checks.freeze(config.model)
  results = {}
  for split, normalised in eval_sets.items():
    sets = np.asarray(pitch_classes.from_normalised(jnp.asarray(normalised),
                                                    config.data.episode_steps))
    elbos, kls = [], []
    for m, notes in enumerate(sets):
      elbo, kl = _memory_elbo(params, jnp.asarray(notes), jax.random.PRNGKey(10_000 + m),
                              codec=codec, model_config=frozen)
      elbos.append(float(elbo))
      kls.append(float(kl))
    per_note = sets.shape[1] * sets[0, 0].size
    full = -np.asarray(elbos) / per_note / math.log(2.0)
    conditional = -(np.asarray(elbos) + np.asarray(kls)) / per_note / math.log(2.0)
    results[split] = {"bits_per_note": float(full.mean()),
                      "stderr": float(full.std(ddof=1) / math.sqrt(len(full))),
                      "conditional_bits_per_note": float(conditional.mean()),
                      "conditional_stderr": float(conditional.std(ddof=1)
                                                  / math.sqrt(len(full))),
                      "kl_memory_bits_per_note": float(np.mean(kls) / per_note / math.log(2.0))}
  return results


def train_and_evaluate(config: ConfigDict, workdir: str,
                       heartbeat: Callable[[str], None] = lambda what: None) -> TrainedCodec:
  """Trains to `config.num_train_steps`, resuming from `workdir`; returns a TrainedCodec."""
  mesh, pools, source = training_loop.prepare(config, workdir, validate=config_checks.validate,
                                              load_data=dkm_train.load_pools,
                                              check_resume=config_checks.check_resume)
  pools = sharding.put_replicated(pools, mesh)
  codec = objective.make_codec(config)
  writer = metric_writing.MetricWriter(workdir)
  eval_sets = dkm_train.evaluation_sets(config, pools)
  train_step = make_train_step(config, codec, mesh)
  rng = sharding.put_replicated(jax.random.PRNGKey(config.seed + 1), mesh)

  def evaluate(state, step):
    del step
    elbo = evaluate_elbo(config, codec, state["params"], {"validation": eval_sets["validation"]})
    return {"validation/bits_per_note": elbo["validation"]["bits_per_note"]}

  trained = dkm_train.run_loop(config, workdir, create_state(config, codec),
                               lambda state, step: train_step(state, pools["train"], rng), mesh,
                               writer, evaluate, _NAN_HINT, heartbeat)
  elbo = evaluate_elbo(config, codec, trained.state["params"], eval_sets)
  writer.write_scalars(config.num_train_steps,
                       {f"{s}/bits_per_note": r["bits_per_note"] for s, r in elbo.items()})
  writer.close()
  logging.info("Codec DKM: test %.3f +- %.3f bits per note (conditional on the memory: %.3f; "
               "paper's linear DKM: 0.76). Training took %.1fs.", elbo["test"]["bits_per_note"],
               elbo["test"]["stderr"], elbo["test"]["conditional_bits_per_note"],
               trained.train_seconds)
  return TrainedCodec(trained.state, codec, pools, eval_sets, elbo, source, mesh,
                      trained.train_seconds)


def evaluate_checkpoint(config: ConfigDict, workdir: str) -> TrainedCodec:
  """The latest checkpoint in `workdir`, evaluated without training (and without writing
  config.json: a config or data that differ from the run's are refused)."""
  config_checks.validate(config)
  mesh = sharding.make_mesh(config.mesh_devices)
  codec = objective.make_codec(config)
  pools, source = dkm_train.load_pools(config)
  config_checks.check_resume(config, workdir, source.record(), evaluating=True)
  state, step = checkpointing.restore_trained(
      workdir, sharding.put_replicated(create_state(config, codec), mesh),
      keep=config.checkpoints_to_keep)
  pools = sharding.put_replicated(pools, mesh)
  eval_sets = dkm_train.evaluation_sets(config, pools)
  elbo = evaluate_elbo(config, codec, state["params"], eval_sets)
  logging.info("Step %d: test %.3f +- %.3f bits per note (data: %s)", step,
               elbo["test"]["bits_per_note"], elbo["test"]["stderr"], source.line())
  return TrainedCodec(state, codec, pools, eval_sets, elbo, source, mesh)
