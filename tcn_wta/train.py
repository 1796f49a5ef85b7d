"""Trains the TCN k-WTA autoencoder (spec "Model"), with the DKM trainer's conventions."""

import functools
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from kanerva_music import checkpointing
from kanerva_music import metric_writing
from kanerva_music import workdir_utils
from tcn_wta import data
from tcn_wta import metrics
from tcn_wta import model as model_lib


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


def make_train_step(config, net):
  optimizer = optax.adam(config.learning_rate)

  @functools.partial(jax.jit, static_argnames=("k",))
  def train_step(state, pool, rng, k):
    rng = jax.random.fold_in(rng, state["step"])
    x = to_inputs(data.sample_windows(pool, rng, config.batch_size, config.data.window),
                  config.data.representation, net.channels)

    def loss_fn(params):
      recon, _ = net.apply({"params": params}, x, k)
      return model_lib.reconstruction_loss(recon, x, config.data.representation), recon

    (loss, recon), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    params = model_lib.project_dictionary(optax.apply_updates(state["params"], updates))
    scalars = {"loss": loss, **metrics.reconstruction_metrics(recon, x, config.data.representation)}
    return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, scalars

  return train_step


def evaluate(config, net, params, pool, k, max_windows=None):
  """Mean reconstruction metrics over the pool's windows (in batches), and the loss."""
  num = int(pool.starts.shape[0]) if max_windows is None else min(max_windows,
                                                                  int(pool.starts.shape[0]))

  @jax.jit
  def batch_metrics(ids):
    x = to_inputs(data.gather(pool, ids, config.data.window), config.data.representation,
                  net.channels)
    recon, _ = net.apply({"params": params}, x, k)
    out = metrics.reconstruction_metrics(recon, x, config.data.representation)
    out["loss"] = model_lib.reconstruction_loss(recon, x, config.data.representation)
    return out

  totals, count = {}, 0
  for first in range(0, num, config.batch_size):
    ids = np.arange(first, min(first + config.batch_size, num))
    # Pad the last batch to a fixed shape (one compilation); padded rows are dropped by weight.
    padded = np.pad(ids, (0, config.batch_size - len(ids)), mode="edge")
    values = jax.device_get(batch_metrics(jnp.asarray(padded)))
    weight = len(ids)
    for key, value in values.items():
      totals[key] = totals.get(key, 0.0) + float(value) * weight
    count += weight
  return {key: value / count for key, value in totals.items()}


def train_and_evaluate(config, workdir):
  """Trains to config.num_train_steps (resuming from workdir); returns held-out metrics."""
  workdir_utils.write_config_json(config, workdir)
  splits, channels = data.load_dataset(config.data)
  net = build_model(config, channels)
  window = config.data.window
  pools = {"train": data.make_pool(splits["train"], window, config.data.train_hop)}
  for split in ("validation", "test"):
    if split in splits:
      pools[split] = data.make_pool(splits[split], window, window)
  writer = metric_writing.MetricWriter(workdir)
  mngr = checkpointing.manager(workdir, keep=config.checkpoints_to_keep)
  state, restored = checkpointing.restore_latest(mngr, create_state(config, net))
  start = int(state["step"])
  if restored is not None:
    logging.info("Resumed from %s at step %d", workdir, start)
  train_step = make_train_step(config, net)
  rng = jax.random.PRNGKey(config.seed + 1)
  progress = metric_writing.Progress(config.num_train_steps, start)
  begin = time.time()
  for step in range(start + 1, config.num_train_steps + 1):
    k = model_lib.k_at_step(config.model.k, step - 1)
    state, scalars = train_step(state, pools["train"], rng, k)
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
  results = {split: evaluate(config, net, state["params"], pools[split], k,
                             config.eval.max_windows)
             for split in ("validation", "test") if split in pools}
  for split, values in results.items():
    writer.write_scalars(config.num_train_steps, {f"{split}/{n}": v for n, v in values.items()})
    logging.info("Held-out %s reconstruction: %s", split,
                 ", ".join(f"{n}={v:.4f}" for n, v in values.items()))
  writer.close()
  return {"state": state, "metrics": results, "train_seconds": train_seconds, "k": k}
