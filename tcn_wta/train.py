"""Trains the TCN k-WTA autoencoder (spec "Model"), with the DKM trainer's conventions."""

import functools
import time

from absl import logging
import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import optax

from kanerva_music import checkpointing
from kanerva_music import metric_writing
from kanerva_music import sharding
from kanerva_music import workdir_utils
from tcn_wta import config_checks
from tcn_wta import data
from tcn_wta import metrics
from tcn_wta import model as model_lib

DATA = sharding.DATA


def build_model(config, channels):
  m = config.model
  return model_lib.TcnWta(channels=channels, num_atoms=m.num_atoms, patch=m.patch,
                          tcn_features=tuple(m.tcn_features), kernel_size=m.kernel_size)


def create_state(config, net):
  dummy = jnp.zeros((1, config.data.window, net.channels), jnp.float32)
  params = net.init(jax.random.PRNGKey(config.seed), dummy, config.model.k.k_start)["params"]
  params = model_lib.project_dictionary(params)
  return {"params": params, "opt_state": optax.adam(config.learning_rate).init(params),
          "step": jnp.zeros((), jnp.int32)}


def to_inputs(batch, representation, channels):
  """Token ids -> one-hot events; real-valued windows pass through."""
  if representation == "events":
    return jax.nn.one_hot(batch, channels, dtype=jnp.float32)
  return batch.astype(jnp.float32)


def make_train_step(config, net, mesh):
  """A pure jitted step: samples a global batch of windows on device from fold_in(rng, step),
  splits it over the mesh's data axis, one Adam step on the averaged gradients, then the
  dictionary projection. Metrics are averages of per-device values."""
  optimizer = optax.adam(config.learning_rate)
  representation = config.data.representation
  sharding.check_divisible(config.batch_size, mesh, "batch_size")

  def local_gradients(params, windows, k):
    x = to_inputs(windows, representation, net.channels)

    def loss_fn(params):
      recon, _ = net.apply({"params": params}, x, k)
      return model_lib.reconstruction_loss(recon, x, representation), recon

    (loss, recon), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    scalars = {"loss": loss, **metrics.reconstruction_metrics(recon, x, representation)}
    return sharding.mean_over_shards((grads, scalars), mesh)

  @functools.partial(jax.jit, static_argnames=("k",))
  def train_step(state, pool, rng, k):
    rng = jax.random.fold_in(rng, state["step"])
    windows = data.sample_windows(pool, rng, config.batch_size, config.data.window)
    grads, scalars = sharding.per_shard(functools.partial(local_gradients, k=k), mesh,
                                        in_specs=(P(), P(DATA)), out_specs=P())(
                                            state["params"], windows)
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    params = model_lib.project_dictionary(optax.apply_updates(state["params"], updates))
    return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, scalars

  return train_step


def evaluate(config, net, params, pool, k, mesh, max_windows=None):
  """Mean reconstruction metrics over the pool's windows (in batches split over the mesh), and
  the loss."""
  num = int(pool.starts.shape[0]) if max_windows is None else min(max_windows,
                                                                  int(pool.starts.shape[0]))
  representation = config.data.representation

  def local_metrics(params, windows):
    x = to_inputs(windows, representation, net.channels)
    recon, _ = net.apply({"params": params}, x, k)
    out = metrics.reconstruction_metrics(recon, x, representation)
    out["loss"] = model_lib.reconstruction_loss(recon, x, representation)
    return sharding.mean_over_shards(out, mesh)

  @jax.jit
  def batch_metrics(params, pool, ids):
    windows = data.gather(pool, ids, config.data.window)
    return sharding.per_shard(local_metrics, mesh, in_specs=(P(), P(DATA)), out_specs=P())(
        params, windows)

  totals, count = {}, 0
  for first in range(0, num, config.batch_size):
    ids = np.arange(first, min(first + config.batch_size, num))
    # Pad the last batch to a fixed shape (one compilation); padded rows are dropped by weight.
    padded = np.pad(ids, (0, config.batch_size - len(ids)), mode="edge")
    values = jax.device_get(batch_metrics(params, pool,
                                          sharding.put_replicated(padded.astype(np.int32), mesh)))
    weight = len(ids)
    for key, value in values.items():
      totals[key] = totals.get(key, 0.0) + float(value) * weight
    count += weight
  return {key: value / count for key, value in totals.items()}


def train_and_evaluate(config, workdir, heartbeat=lambda what: None):
  """Trains to config.num_train_steps (resuming from workdir); returns held-out metrics."""
  # Nothing is written until the config is valid, the data loads and the workdir agrees.
  config_checks.validate(config)
  mesh = sharding.make_mesh(config.mesh_devices)
  sharding.check_divisible(config.batch_size, mesh, "batch_size")
  splits, channels = data.load_dataset(config.data)
  config_checks.check_resume(config, workdir)
  workdir_utils.write_config_json(config, workdir)
  net = build_model(config, channels)
  window = config.data.window
  pools = {"train": data.make_pool(splits["train"], window, config.data.train_hop)}
  for split in ("validation", "test"):
    if split in splits:
      pools[split] = data.make_pool(splits[split], window, window)
  pools = sharding.put_replicated(pools, mesh)
  writer = metric_writing.MetricWriter(workdir)
  mngr = checkpointing.manager(workdir, keep=config.checkpoints_to_keep)
  state, restored = checkpointing.restore_latest(
      mngr, sharding.put_replicated(create_state(config, net), mesh))
  start = int(state["step"])
  if restored is not None:
    logging.info("Resumed from %s at step %d", workdir, start)
  train_step = make_train_step(config, net, mesh)
  barrier = sharding.step_barrier(mesh)
  rng = sharding.put_replicated(jax.random.PRNGKey(config.seed + 1), mesh)
  progress = metric_writing.Progress(config.num_train_steps, start)
  begin = time.time()
  for step in range(start + 1, config.num_train_steps + 1):
    k = model_lib.k_at_step(config.model.k, step - 1)
    state, scalars = barrier(train_step(state, pools["train"], rng, k))
    heartbeat(f"training step {step}")
    if step % config.log_every_steps == 0 or step == config.num_train_steps:
      workdir_utils.check_finite(scalars["loss"], step, mngr, "Try a lower learning rate.")
      writer.write_scalars(step, {**{f"train/{n}": v for n, v in scalars.items()}, "k": k,
                                  **progress.report(step)})
    if step % config.checkpoint_every_steps == 0 or step == config.num_train_steps:
      workdir_utils.check_finite(scalars["loss"], step, mngr)
      checkpointing.save(mngr, step, state, force=True)
  mngr.wait_until_finished()
  mngr.close()
  train_seconds = time.time() - begin
  k = model_lib.k_at_step(config.model.k, config.num_train_steps)
  results = {split: evaluate(config, net, state["params"], pools[split], k, mesh,
                             config.eval.max_windows)
             for split in ("validation", "test") if split in pools}
  for split, values in results.items():
    writer.write_scalars(config.num_train_steps, {f"{split}/{n}": v for n, v in values.items()})
    logging.info("Held-out %s reconstruction: %s", split,
                 ", ".join(f"{n}={v:.4f}" for n, v in values.items()))
  writer.close()
  return {"state": state, "metrics": results, "train_seconds": train_seconds, "k": k}
