r"""Speed of the DKM, measured against baselines in the same process.

  python -m kanerva_music.benchmark [--memories=64] [--train_steps=300]

Prints (1) training steps/s of the paper configuration and the projected time for its
3e4 steps, and (2) completion throughput of the batched, jitted masked read (seed eq. 6, one
factorisation per memory and mask) against a NumPy loop of per-episode `numpy.linalg.lstsq`,
as a ratio, with the largest difference between the two answers. Episodes are random-walk
chorales: speed does not depend on the data.
"""

import time

from absl import app
from absl import flags
import jax
import numpy as np

from configs import chorales as chorales_config
from kanerva_music import cli
from kanerva_music import dkm
from kanerva_music import sharding
from kanerva_music import episodes
from kanerva_music import train

FLAGS = flags.FLAGS
flags.DEFINE_integer("memories", 64, "Memories of T = 32 episodes in the completion benchmark.")
flags.DEFINE_integer("train_steps", 300, "Timed training steps (after one compiling step).")
flags.DEFINE_integer("repeats", 5, "Timed repeats of the batched completion.")


def synthetic_pool(rng, num_chorales=60, length=200, episode_steps=32):
  offsets = np.array([72, 64, 55, 45])
  walks = [np.clip(offsets + np.cumsum(rng.integers(-2, 3, (length, 4)), axis=0), 36, 81)
           for _ in range(num_chorales)]
  return episodes.make_pool([w.astype(np.float32) for w in walks], episode_steps, name="bench")


def time_training(config, pool, num_steps):
  state = train.create_state(config)
  step = train.make_train_step(config, sharding.make_mesh(1))
  rng = jax.random.PRNGKey(0)
  state, metrics = step(state, pool, rng)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(num_steps):
    state, metrics = step(state, pool, rng)
  jax.block_until_ready(metrics)
  return num_steps / (time.perf_counter() - start)


def numpy_complete(mean, cues, mask, obs_noise_std):
  """Baseline: per-episode ridge least squares by numpy.linalg.lstsq, then the read."""
  observed = mask != 0
  k = mean.shape[0]
  ridge = np.sqrt(obs_noise_std**2) * np.eye(k)  # prior_std = 1
  design = np.concatenate([mean.T[observed], ridge])
  out = np.empty_like(cues)
  for i, cue in enumerate(cues):
    rhs = np.concatenate([cue[observed], np.zeros(k)])
    w = np.linalg.lstsq(design, rhs, rcond=None)[0]
    out[i] = w @ mean
  return out


def main(argv):
  del argv
  config = chorales_config.get_config()
  rng = np.random.default_rng(0)
  pool = synthetic_pool(rng)

  steps_per_sec = time_training(config, pool, FLAGS.train_steps)
  projected_min = config.num_train_steps / steps_per_sec / 60
  print(f"devices: {jax.devices()}")
  print(f"training (K={config.model.num_rows}, C={train.num_cols(config)}, "
        f"T={config.episodes_per_memory}, batch={config.batch_size}): {steps_per_sec:.1f} steps/s; "
        f"{config.num_train_steps} steps in {projected_min:.1f} min")

  # Completion: memories written with trained-looking statistics, second half of each episode masked.
  sigma = config.model.obs_noise_std
  episodes_per_memory = config.episodes_per_memory
  batch = np.asarray(episodes.sample_episodes(
      pool, jax.random.PRNGKey(1), (FLAGS.memories, episodes_per_memory), 32))
  prior_mean = 0.1 * rng.normal(size=(config.model.num_rows, batch.shape[-1])).astype(np.float32)
  prior = dkm.Memory(mean=prior_mean, cov=np.eye(config.model.num_rows, dtype=np.float32))

  @jax.jit
  def write_all(x):
    def one(z):
      w = dkm.solve_address(prior.mean, z, obs_noise_std=sigma)
      return dkm.write(prior, z, w, obs_noise_std=sigma).mean
    return jax.vmap(one)(x)

  means = np.asarray(write_all(batch))
  mask = np.ones(batch.shape[-1], np.float32)
  mask[batch.shape[-1] // 2:] = 0
  cues = np.where(mask != 0, batch, np.nan).astype(np.float32)

  @jax.jit
  def complete(means, cues):
    return jax.vmap(lambda m, x: dkm.solve_address(m, x, mask, obs_noise_std=sigma) @ m)(
        means, cues)

  jax.block_until_ready(complete(means, cues))
  start = time.perf_counter()
  for _ in range(FLAGS.repeats):
    ours = complete(means, cues)
  jax.block_until_ready(ours)
  ours_rate = FLAGS.repeats * cues.shape[0] * cues.shape[1] / (time.perf_counter() - start)

  start = time.perf_counter()
  theirs = np.stack([numpy_complete(m.astype(np.float64), c.astype(np.float64), mask, sigma)
                     for m, c in zip(means, cues)])
  numpy_rate = cues.shape[0] * cues.shape[1] / (time.perf_counter() - start)
  max_diff = float(np.max(np.abs(np.asarray(ours, np.float64) - theirs)))
  print(f"completion (half masked, {cues.shape[0]} memories x {cues.shape[1]} episodes): "
        f"jitted batched svd {ours_rate:,.0f} episodes/s; NumPy lstsq loop {numpy_rate:,.0f} "
        f"episodes/s; ratio {ours_rate / numpy_rate:.1f}x; max |difference| {max_diff:.2e}")


if __name__ == "__main__":
  cli.run(main)
