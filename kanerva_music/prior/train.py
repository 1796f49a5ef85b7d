"""Trains the orderless inpainting network (`objective.loss`) with AdamW on chorale episodes.

Each step draws `batch_size` training windows on device, transposes each inside the voices'
training ranges, draws one training mask per episode (`masks.training_masks`) and takes one
AdamW step (linear warm-up, cosine decay). Every `eval_every_steps` and at the end the
validation NLL per hidden note is measured on fixed episodes and masks; the parameters with
the lowest one are kept in `<workdir>/best` (with `best.json`) and are what the report and the
tools read.
"""

import functools
import os
import time
from typing import Any, Callable, NamedTuple, Optional

from absl import logging
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from ml_collections import ConfigDict
import numpy as np
import optax

from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.prior import masks
from kanerva_music.prior import memory_context
from kanerva_music.prior import network
from kanerva_music.prior import objective
from kanerva_music.training import config_checks
from kanerva_music.training import train as dkm_train
from music_runtime.files import atomic
from music_runtime.files import metric_writing
from music_runtime.files import workdir_utils
from music_runtime.training import checkpointing
from music_runtime.training import sharding
from music_runtime.training import training_loop

DATA = sharding.DATA
BEST_FOLDER = "best"
BEST_RECORD = "best.json"
_NAN_HINT = "Try a lower --config.learning_rate."


class TrainedPrior(NamedTuple):
  """What training (or restoring) the inpainting network hands to its report and the tools."""
  params: Any              # the parameters with the best validation NLL
  net: network.InpaintingNet
  pools: dict              # {split: episodes.EpisodePool}
  ranges: np.ndarray       # [2, 4] the voices' training ranges (pitch classes)
  best: dict               # {"step", "validation_nll"} of `params`
  data_source: Any         # provenance.DataSource
  mesh: Any
  train_seconds: Optional[float] = None
  final_step: int = 0


def make_net(config: ConfigDict) -> network.InpaintingNet:
  """The network of `config.prior`."""
  c = config.prior
  context = memory_context.CONTEXT_FEATURES if c.get("memory_rows", 0) else 0
  return network.InpaintingNet(kind=c.network, width=c.width, depth=c.depth, heads=c.heads,
                               dropout=c.dropout, context=context)


def make_optimizer(config: ConfigDict) -> optax.GradientTransformation:
  """AdamW, a linear warm-up and a cosine decay to `final_learning_rate_fraction`."""
  c = config.prior
  schedule = optax.warmup_cosine_decay_schedule(
      0.0, config.learning_rate, min(c.warmup_steps, config.num_train_steps // 2),
      config.num_train_steps, config.learning_rate * c.final_learning_rate_fraction)
  return optax.adamw(schedule, weight_decay=c.weight_decay)


# One program: run op by op, the initialisers compile dozens of small ones.
@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _initial_params(net: network.InpaintingNet, seed: int, episode_steps: int) -> dict:
  notes = jnp.zeros((1, episode_steps, network.NUM_VOICES), jnp.int32)
  context = memory_context.off_context((1,), episode_steps) if net.context else None
  return net.init(jax.random.PRNGKey(seed), network.tokens(notes, notes), context)["params"]


def init_params(config: ConfigDict, net: network.InpaintingNet) -> dict:
  """The network's initial parameters (`config.seed`), for windows of the config's steps."""
  return _initial_params(net, config.seed, config.data.episode_steps)


def create_state(config: ConfigDict, net: network.InpaintingNet) -> dict:
  """The initial training state {"params", "opt_state", "step"}."""
  optimizer = make_optimizer(config)

  def initial_state():
    params = _initial_params(net, config.seed, config.data.episode_steps)
    return {"params": params, "opt_state": optimizer.init(params),
            "step": jnp.asarray(0, jnp.int32)}

  # Run once: compiled quickly (`sharding.quick_compile_options`).
  return jax.jit(initial_state, compiler_options=sharding.quick_compile_options())()


def num_parameters(params: Any) -> int:
  """The number of scalars in a parameter pytree."""
  return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(params)))


def _sample_then_update(sample: Callable[..., tuple], update: Callable[..., tuple[dict, dict]],
                        state: dict, pool: Any, grid: Any,
                        rng: jax.Array) -> tuple[dict, dict]:
  return update(state, *sample(state["step"], pool, grid, rng))


class TrainStep(NamedTuple):
  """The training step: `sample(step, pool, grid, rng)` draws the global batch on device and
  reads each example's memory context on its shard; `update(state, *batch)` takes one AdamW step
  on it; `fused` is both as one program. `split` (`config.prior.split_step`) runs the two
  programs instead: on XLA:CPU the small network of `prior_quick` steps 1.8x faster that way,
  the full one 5-10% slower (`tools/prior_benchmark.py`)."""
  sample: Callable[..., tuple]
  update: Callable[..., tuple[dict, dict]]
  fused: Callable[..., tuple[dict, dict]]
  split: bool

  def two_programs(self, state: dict, pool: Any, grid: Any, rng: jax.Array) -> tuple[dict, dict]:
    """`sample`, then `update`."""
    return _sample_then_update(self.sample, self.update, state, pool, grid, rng)

  def __call__(self, state: dict, pool: Any, grid: Any, rng: jax.Array) -> tuple[dict, dict]:
    """(the next state, {"loss"}) from `state`'s batch of fold_in(rng, step)."""
    return (self.two_programs if self.split else self.fused)(state, pool, grid, rng)


def make_train_step(config: ConfigDict, net: network.InpaintingNet, ranges: jax.Array,
                    mesh: Mesh) -> TrainStep:
  """The `TrainStep`: samples, transposes and masks its global batch on device from
  fold_in(rng, step), splits it over the mesh, one AdamW step on the mean loss. With a memory
  (`config.prior.memory_rows`), each example's context is read from a memory of its chorale's
  other windows (`memory_context.training_windows`), on its own shard."""
  optimizer = make_optimizer(config)
  steps = config.data.episode_steps
  mix = tuple(config.prior.mask_mix)
  memory = memory_context.MemoryConfig.of(config.prior)
  addresses = memory_context.write_addresses(memory, config.seed)  # [1, 0] without a memory
  sharding.check_divisible(config.batch_size, mesh, "batch_size")

  contexts = sharding.per_shard(
      lambda notes, mask, stored, valid: memory_context.contexts(
          stored, valid, notes, mask, addresses, memory.noise),
      mesh, in_specs=(P(DATA),) * 4, out_specs=P(DATA))

  def local_gradients(params, notes, mask, context, rngs):
    rng = rngs[0]  # this shard's dropout key
    loss, grads = jax.value_and_grad(
        lambda p: objective.loss(net, p, notes, mask, dropout_rng=rng, context=context))(params)
    return sharding.mean_over_shards((grads, {"loss": loss}), mesh)

  gradients = sharding.per_shard(local_gradients, mesh,
                                 in_specs=(P(),) + (P(DATA),) * 4, out_specs=P())

  @jax.jit
  def sample(step, pool, grid, rng):
    rng = jax.random.fold_in(rng, step)
    rng_data, rng_shift, rng_mask, rng_drop = jax.random.split(rng, 4)
    shape = (config.batch_size,)
    rngs = jax.random.split(rng_drop, sharding.num_shards(mesh))
    if not memory.num_rows:
      batch = episodes.sample_episodes(pool, rng_data, shape, steps)
      notes = pitch_classes.transpose(rng_shift, pitch_classes.from_normalised(batch, steps),
                                      config.prior.transpose_semitones, ranges)
      return notes, masks.training_masks(rng_mask, notes.shape, mix), None, rngs
    rows = episodes.sample_window_starts(pool, rng_data, shape)
    notes, stored, valid = memory_context.training_windows(
        grid, rows, rng_shift, memory, steps, config.prior.transpose_semitones, ranges)
    mask = masks.training_masks(rng_mask, notes.shape, mix)
    return notes, mask, contexts(notes, mask, stored, valid), rngs

  @jax.jit
  def update(state, notes, mask, context, rngs):
    grads, metrics = gradients(state["params"], notes, mask, context, rngs)
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    return {"params": optax.apply_updates(state["params"], updates), "opt_state": opt_state,
            "step": state["step"] + 1}, metrics

  fused = jax.jit(functools.partial(_sample_then_update, sample, update))
  return TrainStep(sample, update, fused, bool(config.prior.get("split_step", False)))


@functools.partial(jax.jit, static_argnames=("net",))
def _mean_hidden_nll(params, notes, mask, *, net):
  def one(args):
    n, m = args
    return objective.hidden_nll(objective.apply(net, params, n, m), n, m)
  per_episode = jax.lax.map(one, (notes, mask))
  return jnp.mean(per_episode)


def validation_set(config: ConfigDict, pools: dict) -> tuple[jax.Array, jax.Array]:
  """Fixed validation episodes [M, T, S, 4] (the DKM reports' draw) and training-kind masks."""
  normalised = dkm_train.evaluation_sets(config, pools)["validation"]
  notes = jnp.asarray(pitch_classes.from_normalised(np.asarray(normalised),
                                                    config.data.episode_steps))
  mask = masks.fixed_training_masks(config.eval.seed + 7, notes.shape,
                                    tuple(config.prior.mask_mix))
  return notes, mask


def validation_nll(net: network.InpaintingNet, params: dict,
                   valid: tuple[ArrayLike, ArrayLike]) -> float:
  """Mean NLL per hidden note (nats, per-episode means averaged) on `validation_set`."""
  notes, mask = valid
  return float(_mean_hidden_nll(params, notes, mask, net=net))


class BestKeeper:
  """Keeps the parameters with the lowest validation NLL in `<workdir>/best` (Orbax) and their
  step and NLL in `<workdir>/best.json`, both replaced only by a better one."""

  def __init__(self, workdir: str):
    self._workdir = workdir
    self._record = os.path.join(workdir, BEST_RECORD)
    self.best = (workdir_utils.read_json(self._record, "best-parameters record")
                 if os.path.exists(self._record) else None)

  def offer(self, step: int, nll: float, params: dict) -> bool:
    """Saves `params` as the best when `nll` is lower than the best so far; True if it was."""
    if self.best is not None and nll >= self.best["validation_nll"]:
      return False
    mngr = checkpointing.manager(self._workdir, keep=1, folder=BEST_FOLDER)
    try:
      checkpointing.save(mngr, step, params, force=True)
      mngr.wait_until_finished()
    finally:
      mngr.close()
    self.best = {"step": int(step), "validation_nll": float(nll)}
    atomic.write_json(self._record, self.best)
    return True


def restore_best(workdir: str, like_params: dict, *,
                 settle_seconds: float = 5.0) -> tuple[dict, dict]:
  """(params, best record) of `<workdir>/best`; FileNotFoundError if there is none. A trainer
  replaces `best/` and then `best.json`: a reader that finds them a step apart reads both again
  for up to `settle_seconds` before calling them inconsistent."""
  record = os.path.join(workdir, BEST_RECORD)
  deadline = time.time() + settle_seconds
  while True:
    if not os.path.exists(record):
      raise FileNotFoundError(f"No {record}: train the network first with --mode=train "
                              "(the default).")
    best = workdir_utils.read_json(record, "best-parameters record")
    mngr = checkpointing.manager(workdir, keep=1, folder=BEST_FOLDER)
    try:
      params, step = checkpointing.restore_latest(mngr, like_params, move_aside=False)
    finally:
      mngr.close()
    if step == best["step"]:
      return params, best
    if time.time() > deadline:
      raise FileNotFoundError(f"{record} names step {best['step']} but {workdir}/{BEST_FOLDER} "
                              f"holds {step}: train again to rewrite them.")
    time.sleep(0.25)


def training_ranges(config: ConfigDict, pools: dict) -> np.ndarray:
  """[2, 4] each voice's lowest and highest pitch class in the training split."""
  windows = episodes.pool_windows(jax.device_get(pools["train"]), config.data.episode_steps)
  return pitch_classes.voice_ranges(windows, config.data.episode_steps)


def train_and_evaluate(config: ConfigDict, workdir: str,
                       heartbeat: Callable[[str], None] = lambda what: None) -> TrainedPrior:
  """Trains to `config.num_train_steps`, resuming from `workdir`; returns the best params."""
  mesh, pools, source = training_loop.prepare(
      config, workdir, validate=config_checks.validate, load_data=dkm_train.load_pools,
      check_resume=config_checks.check_resume)
  ranges = training_ranges(config, pools)
  pools = sharding.put_replicated(pools, mesh)
  net = make_net(config)
  valid = validation_set(config, pools)
  writer = metric_writing.MetricWriter(workdir)
  train_step = make_train_step(config, net, jnp.asarray(ranges), mesh)
  memory = memory_context.MemoryConfig.of(config.prior)
  grid = sharding.put_replicated(
      memory_context.chorale_grid(pools["train"]) if memory.num_rows else None, mesh)
  rng = sharding.put_replicated(jax.random.PRNGKey(config.seed + 1), mesh)
  keeper = BestKeeper(workdir)

  def evaluate(state, step):
    nll = validation_nll(net, state["params"], valid)
    keeper.offer(step, nll, state["params"])
    return {"validation/nll_per_hidden_note": nll}

  trained = dkm_train.run_loop(config, workdir, create_state(config, net),
                               lambda state, step: train_step(state, pools["train"], grid, rng),
                               mesh, writer, evaluate, _NAN_HINT, heartbeat)
  final = int(trained.state["step"])
  writer.write_scalars(final, evaluate(trained.state, final))
  writer.close()
  params, best = restore_best(workdir, trained.state["params"])
  logging.info("Inpainting network: best validation NLL %.4f nats per hidden note at step %d "
               "of %d; training took %.1fs.", best["validation_nll"], best["step"], final,
               trained.train_seconds)
  return TrainedPrior(params, net, pools, ranges, best, source, mesh, trained.train_seconds,
                      final)


def evaluate_checkpoint(config: ConfigDict, workdir: str) -> TrainedPrior:
  """The best parameters of a trained `workdir`, without training (and without writing
  config.json: a config or data that differ from the run's are refused)."""
  config_checks.validate(config)
  mesh = sharding.make_mesh(config.mesh_devices)
  pools, source = dkm_train.load_pools(config)
  config_checks.check_resume(config, workdir, source.record(), evaluating=True)
  net = make_net(config)
  params, best = restore_best(workdir, sharding.put_replicated(init_params(config, net), mesh))
  ranges = training_ranges(config, pools)
  return TrainedPrior(params, net, sharding.put_replicated(pools, mesh), ranges, best, source,
                      mesh, None, workdir_utils.latest_checkpoint_step(workdir) or 0)
