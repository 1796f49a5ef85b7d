r"""Speed of the inpainting network, each figure a ratio against a baseline in the same process.

  python -m kanerva_music.tools.benchmark            # the DKM, then this section
  python -m kanerva_music.tools.prior_benchmark [--config=configs/chorales.py:prior]

1. Training: the step's FLOP/s (XLA's own count of the compiled step's floating-point
   operations over its measured time) against this machine's float32 matmul FLOP/s (a square
   product timed in the same process): the share of the machine the step uses; and the step's
   two programs (`prior.train.TrainStep`) against the same two as one program.
2. Reads: episodes/s of the one-pass read and of annealed Gibbs sampling (`eval.gibbs_steps`),
   against the one-pass read's own cost times the number of network calls Gibbs makes.
3. The memory's context (`memory_context.contexts`) against writing the K x (S * 4 * 46) memory
   and reading it (`write` + `read_context`), for a training batch.
Episodes are random pitch classes: speed does not depend on the data.
"""

import time

from absl import flags
import jax
import jax.numpy as jnp
from ml_collections import config_flags
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.prior import memory_context
from kanerva_music.prior import network
from kanerva_music.prior import reads
from kanerva_music.prior import train as prior_train
from music_runtime.running import cli
from music_runtime.training import sharding

FLAGS = flags.FLAGS
MATMUL_SIZE = 2048
DEFAULT_TRAIN_STEPS = 20


def _define_flags():
  config_flags.DEFINE_config_file("config", "configs/chorales.py:prior",
                                  "The inpainting network's config.")
  flags.DEFINE_integer("train_steps", DEFAULT_TRAIN_STEPS, "Timed training steps per repeat.")
  flags.DEFINE_integer("repeats", 3, "Repeats of each timing; the best is kept.")


def best_seconds(fn, repeats: int) -> float:
  """Best wall time of fn() (which blocks on its result) over `repeats`."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def matmul_flops_per_second(repeats: int, size: int = MATMUL_SIZE) -> float:
  """float32 FLOP/s of a jitted [size, size] x [size, size] product on the default device."""
  a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
  product = jax.jit(lambda x: x @ x)
  jax.block_until_ready(product(a))
  return 2.0 * size ** 3 / best_seconds(lambda: jax.block_until_ready(product(a)), repeats)


def compiled_flops(jitted, *args) -> float:
  """XLA's count of the floating-point operations of one call of `jitted(*args)`."""
  analysis = jitted.lower(*args).compile().cost_analysis()
  analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
  return float(analysis.get("flops", float("nan")))


def synthetic_pool(rng, episode_steps, num_chorales=40, length=160):
  walks = [np.clip(np.array([72, 64, 55, 45]) + np.cumsum(rng.integers(-2, 3, (length, 4)), 0),
                   36, 81).astype(np.float32) for _ in range(num_chorales)]
  return episodes.make_pool(walks, episode_steps, name="bench")


def time_training(config, repeats, num_steps):
  """(steps/s of the `TrainStep`'s two programs, steps/s of them as one, FLOP per step)."""
  mesh = sharding.make_mesh(1)
  net = prior_train.make_net(config)
  pool = synthetic_pool(np.random.default_rng(0), config.data.episode_steps)
  ranges = jnp.asarray([[0] * 4, [network.NUM_PITCHES - 1] * 4], jnp.int32)
  step = prior_train.make_train_step(config, net, ranges, mesh)
  grid = (jax.device_put(memory_context.chorale_grid(pool))
          if memory_context.MemoryConfig.of(config.prior).num_rows else None)
  state, rng = prior_train.create_state(config, net), jax.random.PRNGKey(1)
  batch = step.sample(state["step"], pool, grid, rng)
  flops = (compiled_flops(step.sample, state["step"], pool, grid, rng)
           + compiled_flops(step.update, state, *batch))
  rates = []
  for fn in (step.two_programs, step.fused):
    jax.block_until_ready(fn(state, pool, grid, rng))

    def run(fn=fn):
      s, m = state, None
      for _ in range(num_steps):
        s, m = fn(s, pool, grid, rng)
      jax.block_until_ready(m)

    rates.append(num_steps / best_seconds(run, repeats))
  return rates[0], rates[1], flops


def time_reads(config, repeats, num_episodes=512):
  """{read: episodes/s} of the one-pass read and Gibbs sampling on half-hidden episodes."""
  net = prior_train.make_net(config)
  params = prior_train.init_params(config, net)
  s = config.data.episode_steps
  notes = jax.random.randint(jax.random.PRNGKey(2), (num_episodes, s, 4), 0,
                             network.NUM_PITCHES)
  mask = jnp.broadcast_to((jnp.arange(s) < s // 2)[:, None], notes.shape).astype(jnp.float32)
  one = jax.jit(lambda p, x, m: reads.one_pass(net, p, x, m).notes)
  ev = config.eval
  gibbs = jax.jit(lambda p, x, m, r: reads.gibbs(net, p, x, m, r, num_steps=ev.gibbs_steps,
                                                 min_share=ev.gibbs_min_share).notes)
  key = jax.random.PRNGKey(3)
  jax.block_until_ready(one(params, notes, mask))
  jax.block_until_ready(gibbs(params, notes, mask, key))
  return {"one_pass": num_episodes / best_seconds(
              lambda: jax.block_until_ready(one(params, notes, mask)), repeats),
          "gibbs": num_episodes / best_seconds(
              lambda: jax.block_until_ready(gibbs(params, notes, mask, key)), repeats)}


def time_memory_reads(config, repeats):
  """(episodes/s of `memory_context.contexts`, of writing the K x (S * 4 * 46) memory and reading
  it, `write` + `read_context`) for a training batch of cues, each with its own memory; None
  without a memory."""
  memory = memory_context.MemoryConfig.of(config.prior)
  if not memory.num_rows:
    return None
  s, batch = config.data.episode_steps, config.batch_size
  pool = synthetic_pool(np.random.default_rng(4), s)
  grid = jax.device_put(memory_context.chorale_grid(pool))
  rows = pool.window_starts[::7][:batch]  # window starts with stored windows around them
  memory = memory._replace(mode_mix=(0.0, 1.0, 0.0))
  notes, stored, valid = memory_context.training_windows(grid, rows, jax.random.PRNGKey(5),
                                                         memory, s, 0, None)
  mask = jnp.broadcast_to((jnp.arange(s) < s // 2)[:, None], notes.shape).astype(jnp.float32)
  addresses = memory_context.write_addresses(memory, config.seed)
  fast = jax.jit(lambda *a: memory_context.contexts(*a, addresses, memory.noise))
  slow = jax.jit(jax.vmap(lambda w, v, n, m: jnp.where(jnp.any(v), memory_context.read_context(
      memory_context.write(w, v, addresses, memory.noise), n, m, memory.noise), 0.0)))
  args = (stored, valid, notes, mask)
  rates = []
  for fn in (fast, slow):
    jax.block_until_ready(fn(*args))
    rates.append(batch / best_seconds(lambda f=fn: jax.block_until_ready(f(*args)), repeats))
  difference = float(jnp.max(jnp.abs(fast(*args) - slow(*args))))
  return rates[0], rates[1], difference


def report(config, repeats: int, train_steps: int) -> None:
  """Prints the training FLOP/s against matmul FLOP/s, and both reads' episodes/s."""
  c = config.prior
  print(f"inpainting network {c.network}: width {c.width}, depth {c.depth}, batch "
        f"{config.batch_size}, devices {jax.devices()}")
  two, one, flops = time_training(config, repeats, train_steps)
  split = bool(c.get("split_step", False))
  steps_per_second = two if split else one  # the config's own step
  peak = matmul_flops_per_second(repeats)
  achieved = steps_per_second * flops
  print(f"training: {steps_per_second:.2f} steps/s x {flops / 1e9:.2f} GFLOP per step = "
        f"{achieved / 1e9:.1f} GFLOP/s; float32 matmul ({MATMUL_SIZE}^2) {peak / 1e9:.1f} "
        f"GFLOP/s: {achieved / peak:.2f}x of it; {config.num_train_steps} steps in "
        f"{config.num_train_steps / steps_per_second / 60:.1f} min")
  print(f"training step as two programs (batch, update): {two:.2f} steps/s vs {one:.2f} as "
        f"one: {two / one:.2f}x "
        f"(this config runs {'two' if split else 'one'}: "
        "prior.split_step)")
  rates = time_reads(config, repeats)
  calls = config.eval.gibbs_steps + 1
  print(f"reads: one pass {rates['one_pass']:,.0f} episodes/s; Gibbs ({config.eval.gibbs_steps}"
        f" steps) {rates['gibbs']:,.0f} episodes/s: {rates['one_pass'] / rates['gibbs']:.1f}x "
        f"slower, for {calls} network calls per episode")
  memory = time_memory_reads(config, repeats)
  if memory is not None:
    print(f"memory context: {memory[0]:,.0f} cues/s without forming the memory "
          f"(window_context) vs {memory[1]:,.0f} writing and reading it: "
          f"{memory[0] / memory[1]:.1f}x; max difference {memory[2]:.1e}")


def main(argv):
  del argv
  report(FLAGS.config, FLAGS.repeats, FLAGS.train_steps)


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
