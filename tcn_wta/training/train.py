"""Trains the TCN k-WTA autoencoder (docs/tcn_wta.md, "Model") on music_runtime's loop."""

import functools
from typing import NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import optax

from music_runtime.files import metric_writing
from music_runtime.training import batching
from music_runtime.training import sharding
from music_runtime.training import training_loop
from tcn_wta import model as model_lib
from tcn_wta.datasets import data
from tcn_wta.datasets import representations
from tcn_wta.training import config_checks

DATA = sharding.DATA


class TrainedAutoencoder(NamedTuple):
  """What training hands back: the final state, held-out metrics per split, the final k."""
  state: dict
  metrics: dict          # {split: {metric: value}}
  k: int
  train_seconds: float


def build_model(config, channels):
  m = config.model
  return model_lib.TcnWta(channels=channels, num_atoms=m.num_atoms, patch=m.patch,
                          tcn_features=tuple(m.tcn_features), kernel_size=m.kernel_size,
                          decoder=m.get("decoder", "auto"), kwta=m.get("kwta", "auto"))


def create_state(config, net):
  dummy = jnp.zeros((1, config.data.window, net.channels), jnp.float32)
  params = net.init(jax.random.PRNGKey(config.seed), dummy, config.model.k.k_start)["params"]
  params = model_lib.project_dictionary(params)
  return {"params": params, "opt_state": optax.adam(config.learning_rate).init(params),
          "step": jnp.zeros((), jnp.int32)}


def make_train_step(config, net, mesh):
  """A pure jitted step: samples a global batch of windows on device from fold_in(rng, step),
  splits it over the mesh's data axis, one Adam step on the averaged gradients, then the
  dictionary projection. Metrics are averages of per-device values."""
  optimizer = optax.adam(config.learning_rate)
  rep = representations.of(config.data)
  sharding.check_divisible(config.batch_size, mesh, "batch_size")

  drop, add = float(config.train.corruption.drop), float(config.train.corruption.add)

  def local_gradients(params, windows, inputs, k):
    x, x_in = rep.to_inputs(windows, net.channels), rep.to_inputs(inputs, net.channels)

    def loss_fn(params):
      recon, _ = net.apply({"params": params}, x_in, k)
      return rep.loss(recon, x), recon

    (loss, recon), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    scalars = {"loss": loss, **rep.metrics(recon, x)}
    return sharding.mean_over_shards((grads, scalars), mesh)

  @functools.partial(jax.jit, static_argnames=("k",))
  def train_step(state, pool, rng, k):
    rng = jax.random.fold_in(rng, state["step"])
    windows = data.sample_windows(pool, rng, config.batch_size, config.data.window)
    # Denoising (beyond the paper): the model sees a corrupted window and must output the clean one.
    inputs = (rep.corrupt_batch(windows, jax.random.fold_in(rng, 1), drop, add, net.channels)
              if drop or add else windows)
    grads, scalars = sharding.per_shard(functools.partial(local_gradients, k=k), mesh,
                                        in_specs=(P(), P(DATA), P(DATA)), out_specs=P())(
                                            state["params"], windows, inputs)
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    params = model_lib.project_dictionary(optax.apply_updates(state["params"], updates))
    return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, scalars

  return train_step


def evaluate(config, net, params, pool, k, mesh, max_windows=None):
  """Mean reconstruction metrics over the pool's windows (in batches split over the mesh), and
  the loss."""
  num = int(pool.starts.shape[0]) if max_windows is None else min(max_windows,
                                                                  int(pool.starts.shape[0]))
  rep = representations.of(config.data)

  def local_metrics(params, windows):
    x = rep.to_inputs(windows, net.channels)
    recon, _ = net.apply({"params": params}, x, k)
    out = rep.metrics(recon, x)
    out["loss"] = rep.loss(recon, x)
    return sharding.mean_over_shards(out, mesh)

  @jax.jit
  def batch_metrics(params, pool, ids):
    windows = data.gather(pool, ids, config.data.window)
    return sharding.per_shard(local_metrics, mesh, in_specs=(P(), P(DATA)), out_specs=P())(
        params, windows)

  return batching.mean_in_batches(
      lambda ids: batch_metrics(params, pool, sharding.put_replicated(ids, mesh)),
      [np.arange(num, dtype=np.int32)], config.batch_size)


def load_pools(config):
  """(({split: WindowPool}, channels), provenance.DataSource): the windows every split trains
  or is evaluated on (a window longer than every piece is refused here, before any write)."""
  splits, channels = data.load_dataset(config.data)
  pools = {"train": data.training_pool(config.data, splits["train"])}
  for split in ("validation", "test"):
    if split in splits:
      pools[split] = data.evaluation_pool(config.data, splits[split])
  return (pools, channels), data.data_source(config.data, splits)


def train_and_evaluate(config, workdir, heartbeat=lambda what: None):
  """Trains to config.num_train_steps (resuming from workdir); returns held-out metrics."""
  mesh, (pools, channels), _ = training_loop.prepare(
      config, workdir, validate=config_checks.validate, load_data=load_pools,
      check_resume=config_checks.check_resume)
  net = build_model(config, channels)
  pools = sharding.put_replicated(pools, mesh)
  writer = metric_writing.MetricWriter(workdir)
  train_step = make_train_step(config, net, mesh)
  rng = sharding.put_replicated(jax.random.PRNGKey(config.seed + 1), mesh)
  k_of = lambda step: model_lib.k_at_step(config.model.k, step - 1)
  trained = training_loop.run(
      workdir=workdir, initial_state=create_state(config, net),
      step_fn=lambda state, step: train_step(state, pools["train"], rng, k_of(step)),
      num_steps=config.num_train_steps, log_every=config.log_every_steps,
      checkpoint_every=config.checkpoint_every_steps, keep=config.checkpoints_to_keep,
      mesh=mesh, writer=writer, nan_hint="Try a lower learning rate.", heartbeat=heartbeat,
      extra_scalars=lambda step: {"k": k_of(step)})
  state, train_seconds = trained.state, trained.train_seconds
  k = model_lib.k_at_step(config.model.k, config.num_train_steps)
  results = {split: evaluate(config, net, state["params"], pools[split], k, mesh,
                             config.eval.max_windows)
             for split in ("validation", "test") if split in pools}
  for split, values in results.items():
    writer.write_scalars(config.num_train_steps, {f"{split}/{n}": v for n, v in values.items()})
    logging.info("Held-out %s reconstruction: %s", split,
                 ", ".join(f"{n}={v:.4f}" for n, v in values.items()))
  writer.close()
  return TrainedAutoencoder(state, results, k, train_seconds)
