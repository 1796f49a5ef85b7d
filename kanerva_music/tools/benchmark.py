r"""Speed of the DKM, each figure a ratio against a baseline run in the same process.

  python -m kanerva_music.tools.benchmark [--config=configs/chorales.py:paper] [--sweep]

1. Training: the step with the Cholesky systems solved by `spd` (linalg="xla", the default)
   against the same step by LAPACK triangular solves (linalg="lapack", the previous code),
   alternated so that machine load hits both alike; the losses of one step are compared.
2. Completion (half of each episode masked) by the jitted read, against NumPy running the same
   algorithm (one factorisation per memory and mask for the whole stack, then matrix products),
   and, with a mask per episode, against a per-episode NumPy `lstsq` loop. The `lstsq` read by
   each of its solvers (`dkm.LSTSQ_SOLVERS`) against the fastest of NumPy's SVD, Gram
   eigendecomposition and Cholesky implementations of it, in float32 and float64.
3. `--sweep`: step time and completion throughput as K, T and the batch grow.
4. The inpainting network (`prior_benchmark`, `--prior_config`; "" skips it): its training
   FLOP/s against this machine's matmul FLOP/s, and its reads' episodes/s.
Episodes are random-walk chorales: speed does not depend on the data.
"""

import time

from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.memory import dkm
from kanerva_music.memory import pinv
from kanerva_music.tools import prior_benchmark
from kanerva_music.training import train
from music_runtime.running import cli
from music_runtime.running import config_files
from music_runtime.training import sharding

FLAGS = flags.FLAGS


def _define_flags():
  """Defined only when run as a program, so that importing this module (tests) defines none."""
  config_flags.DEFINE_config_file("config", "configs/chorales.py:paper",
                                  "The DKM config whose training step is timed.")
  flags.DEFINE_integer("memories", 64, "Memories of T episodes in the completion benchmark.")
  flags.DEFINE_integer("train_steps", 200, "Timed training steps per repeat.")
  flags.DEFINE_integer("repeats", 3, "Alternated repeats of each timing; the best is kept.")
  flags.DEFINE_bool("sweep", False, "Also print how cost grows with K, T and the batch.")
  flags.DEFINE_string("prior_config", "configs/chorales.py:prior",
                      "The inpainting network's config to time after the DKM (\"\": none).")


def synthetic_pool(rng, num_chorales=60, length=200, episode_steps=32):
  offsets = np.array([72, 64, 55, 45])
  walks = [np.clip(offsets + np.cumsum(rng.integers(-2, 3, (length, 4)), axis=0), 36, 81)
           for _ in range(num_chorales)]
  return episodes.make_pool([w.astype(np.float32) for w in walks], episode_steps, name="bench")


def _seconds(fn, repeats):
  """Best wall time of fn() over repeats (fn blocks on its result)."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def _stepper(config, pool, num_steps):
  """(run, first_loss): run() takes num_steps training steps and waits for them."""
  state = train.create_state(config)
  step = train.make_train_step(config, sharding.make_mesh(1))
  rng = jax.random.PRNGKey(0)
  first = step(state, pool, rng)
  jax.block_until_ready(first)

  def run():
    s, metrics = state, None
    for _ in range(num_steps):
      s, metrics = step(s, pool, rng)
    jax.block_until_ready(metrics)

  return run, float(first[1]["loss"])


def time_training(config, pool, num_steps, repeats, linalgs=dkm.LINALGS):
  """{linalg: (steps/s, first-step loss)}, the timings alternated."""
  runs = {}
  for linalg in linalgs:
    variant = config.copy_and_resolve_references()
    variant.model.linalg = linalg
    runs[linalg] = _stepper(variant, pool, num_steps)
  best = {linalg: float("inf") for linalg in linalgs}
  for _ in range(repeats):
    for linalg in linalgs:
      best[linalg] = min(best[linalg], _seconds(runs[linalg][0], 1))
  return {linalg: (num_steps / best[linalg], runs[linalg][1]) for linalg in linalgs}


def written_means(config, pool, num_memories, rng):
  """Memory means [M, K, C] written from episodes with trained-looking statistics, and the
  episodes [M, T, C]."""
  sigma = config.model.obs_noise_std
  batch = np.asarray(episodes.sample_episodes(
      pool, jax.random.PRNGKey(1), (num_memories, config.episodes_per_memory),
      config.data.episode_steps))
  prior_mean = 0.1 * rng.normal(size=(config.model.num_rows, batch.shape[-1])).astype(np.float32)
  prior = dkm.Memory(mean=prior_mean, cov=np.eye(config.model.num_rows, dtype=np.float32))

  @jax.jit
  def write_all(x):
    def one(z):
      w = dkm.solve_address(prior.mean, z, obs_noise_std=sigma, method="cholesky")
      return dkm.write(prior, z, w, obs_noise_std=sigma).mean
    return jax.vmap(one)(x)

  return np.asarray(write_all(batch)), batch


def _numpy_svd_pinv(a, rcond):
  u, s, vt = np.linalg.svd(a, full_matrices=False)
  kept = s > rcond * s.max(axis=-1, keepdims=True)
  factors = np.where(kept, 1.0 / np.where(kept, s, 1.0), 0.0)
  return np.swapaxes(vt, 1, 2) * factors[:, None, :] @ np.swapaxes(u, 1, 2)


def _numpy_eigh_pinv(a, rcond):
  """pinv from the K x K Gram's eigendecomposition, eigenvalues cut at rcond^2 lambda_max (the
  SVD's cut-off; exact in float64)."""
  eigenvalues, vectors = np.linalg.eigh(np.swapaxes(a, 1, 2) @ a)
  kept = eigenvalues > rcond**2 * eigenvalues.max(axis=-1, keepdims=True)
  inverse = np.where(kept, 1.0 / np.where(kept, eigenvalues, 1.0), 0.0)
  return (vectors * inverse[:, None, :]) @ np.swapaxes(vectors, 1, 2) @ np.swapaxes(a, 1, 2)


def _numpy_cholesky_pinv(a, rcond):
  """`pinv.cholesky_pinv` in NumPy: normal equations and a Newton step where the condition
  bound admits them, the SVD for the other memories."""
  gram = np.swapaxes(a, 1, 2) @ a
  with np.errstate(all="ignore"):
    try:
      lower_inv = np.linalg.inv(np.linalg.cholesky(gram))
      bound = np.trace(gram, axis1=1, axis2=2) * np.sum(lower_inv**2, axis=(1, 2))
    except np.linalg.LinAlgError:  # some Gram is singular: decide memory by memory
      bound = np.full(len(a), np.inf)
      for m, one in enumerate(gram):
        try:
          inv = np.linalg.inv(np.linalg.cholesky(one))
          bound[m] = np.trace(one) * np.sum(inv**2)
        except np.linalg.LinAlgError:
          pass
  fast = np.isfinite(bound) & (bound <= pinv.CHOLESKY_MAX_BOUND)
  out = np.empty(np.swapaxes(a, 1, 2).shape, a.dtype)
  if fast.any():
    g0 = np.linalg.solve(gram[fast], np.swapaxes(a[fast], 1, 2))
    out[fast] = 2 * g0 - (g0 @ a[fast]) @ g0
  if not fast.all():
    out[~fast] = _numpy_svd_pinv(a[~fast], rcond)
  return out


NUMPY_LSTSQ = {"svd": _numpy_svd_pinv, "eigh": _numpy_eigh_pinv,
               "cholesky": _numpy_cholesky_pinv}


def numpy_operators(means, mask, method, sigma, rcond, lstsq_solver="svd"):
  """The same algorithm as dkm._solve_operator in NumPy, stacked over memories: G [M, K, C]
  (`lstsq` by NUMPY_LSTSQ[lstsq_solver])."""
  a = mask[None, :, None] * np.swapaxes(means, 1, 2)  # [M, C, K]
  if method == "lstsq":
    return NUMPY_LSTSQ[lstsq_solver](a, rcond)
  if method == "cholesky":
    gram = np.swapaxes(a, 1, 2) @ a + sigma**2 * np.eye(a.shape[-1])
    return np.linalg.solve(gram, np.swapaxes(a, 1, 2))
  raise ValueError(method)


def numpy_complete(means, cues, mask, method, sigma, rcond, lstsq_solver="svd"):
  """Completion [M, T, C] by NumPy: one factorisation per memory, then matrix products."""
  operators = numpy_operators(means, mask, method, sigma, rcond, lstsq_solver)
  addresses = np.einsum("mkc,mtc->mtk", operators, np.where(mask != 0, cues, 0.0))
  return addresses @ means


def numpy_loop_complete(means, cues, masks, rcond, method="lstsq", sigma=None):
  """Per-episode masks: one NumPy solve per episode, the obvious program (`lstsq`, or the
  ridge normal equations for `cholesky`)."""
  out = np.empty_like(cues)
  for m, mean in enumerate(means):
    for t, (cue, mask) in enumerate(zip(cues[m], masks[m])):
      seen = mask != 0
      a = mean.T[seen]
      if method == "lstsq":
        w = np.linalg.lstsq(a, cue[seen], rcond=rcond)[0]
      else:
        w = np.linalg.solve(a.T @ a + sigma**2 * np.eye(a.shape[1]), a.T @ cue[seen])
      out[m, t] = w @ mean
  return out


def jitted_complete(method, sigma, rcond, lstsq_solver="svd", form="map"):
  """The jitted read, every episode of a memory at once, masks [C] (shared) or [T, C] (per
  episode): one memory at a time (form "map": `dkm.map_memories`, as evaluation reads) or
  all memories at once (form "vmap": `jax.vmap`, as a JAX user maps a one-memory function)."""
  def one(mean, cues, mask):
    return dkm.solve_address(mean, cues, mask, obs_noise_std=sigma, method=method,
                             rcond=rcond, lstsq_solver=lstsq_solver) @ mean
  if form == "vmap":
    return jax.jit(jax.vmap(one))
  return jax.jit(lambda means, cues, masks: dkm.map_memories(one, means, cues, masks))


def half_mask(num_cols):
  """[C] float mask observing the first half of an episode."""
  mask = np.ones(num_cols, np.float32)
  mask[num_cols // 2:] = 0
  return mask


def time_completion(config, means, batch, repeats, rng):
  """Prints the completion rows: shared masks against stacked NumPy, per-episode masks against a
  per-episode loop."""
  sigma = config.model.obs_noise_std
  num_memories, num_episodes, num_cols = batch.shape
  count = num_memories * num_episodes
  mask = half_mask(num_cols)
  masks = np.broadcast_to(mask, (num_memories, num_cols))
  cues = np.where(mask != 0, batch, np.nan).astype(np.float32)
  rcond = dkm.default_rcond(num_cols, config.model.num_rows, np.float32)
  means64, cues64 = means.astype(np.float64), cues.astype(np.float64)
  for method in ("lstsq", "cholesky"):
    read = jitted_complete(method, sigma, rcond)
    ours = jax.block_until_ready(read(means, cues, masks))
    ours_s = _seconds(lambda: jax.block_until_ready(read(means, cues, masks)), repeats)
    theirs = numpy_complete(means64, cues64, mask, method, sigma, rcond)
    numpy_s = _seconds(lambda: numpy_complete(means64, cues64, mask, method, sigma, rcond),
                       repeats)
    print(f"completion {method}, half masked, {num_memories} memories x {num_episodes}: "
          f"jitted {count / ours_s:,.0f} episodes/s vs NumPy same algorithm "
          f"{count / numpy_s:,.0f}: {numpy_s / ours_s:.1f}x; max |difference| "
          f"{np.max(np.abs(np.asarray(ours, np.float64) - theirs)):.1e}")

  time_lstsq_solvers(means, cues, mask, sigma, rcond, repeats)

  # A mask per episode: a random half of the steps of each episode observed.
  steps = config.data.episode_steps
  seen_steps = rng.random((num_memories, num_episodes, steps)).argsort(-1) < steps // 2
  per_episode = np.repeat(seen_steps, num_cols // steps, axis=-1).astype(np.float32)
  cues = np.where(per_episode != 0, batch, np.nan).astype(np.float32)
  for method, solver in (("lstsq", "svd"), ("lstsq", "cholesky"), ("cholesky", "svd")):
    read = jitted_complete(method, sigma, rcond, solver)
    ours = jax.block_until_ready(read(means, cues, per_episode))
    ours_s = _seconds(lambda: jax.block_until_ready(read(means, cues, per_episode)), repeats)
    args = (means.astype(np.float64), cues.astype(np.float64), per_episode, None, method, sigma)
    theirs = numpy_loop_complete(*args)
    loop_s = _seconds(lambda: numpy_loop_complete(*args), repeats)
    if method == "lstsq":
      method = f"lstsq by {solver}"
    print(f"completion {method}, a random half of each episode's steps masked (one "
          f"factorisation per episode): jitted {count / ours_s:,.0f} episodes/s vs per-episode "
          f"NumPy loop {count / loop_s:,.0f}: {loop_s / ours_s:.1f}x; max |difference| "
          f"{np.max(np.abs(np.asarray(ours, np.float64) - theirs)):.1e}")


def time_lstsq_solvers(means, cues, mask, sigma, rcond, repeats):
  """The half-masked lstsq read by each jitted solver against every NumPy implementation of the
  same read (float32 and float64, stacked over memories), and each one's distance from a
  float64 SVD."""
  count = cues.shape[0] * cues.shape[1]
  masks = np.broadcast_to(mask, (len(means), mask.size))
  oracle = numpy_complete(means.astype(np.float64), cues.astype(np.float64), mask, "lstsq",
                          sigma, rcond)
  difference = lambda out: np.max(np.abs(np.asarray(out, np.float64) - oracle))
  jitted, vmapped = {}, {}
  for solver in dkm.LSTSQ_SOLVERS:
    for form, rates in (("map", jitted), ("vmap", vmapped)):
      read = jitted_complete("lstsq", sigma, rcond, solver, form)
      out = jax.block_until_ready(read(means, cues, masks))
      seconds = _seconds(lambda: jax.block_until_ready(read(means, cues, masks)), repeats)
      rates[solver] = count / seconds, difference(out)
  numpy_rates = {}
  for dtype in (np.float32, np.float64):
    args = (means.astype(dtype), cues.astype(dtype), mask.astype(dtype), "lstsq", sigma, rcond)
    for solver in NUMPY_LSTSQ:
      out = numpy_complete(*args, solver)
      seconds = _seconds(lambda: numpy_complete(*args, solver), repeats)
      numpy_rates[f"{solver} {np.dtype(dtype).name}"] = count / seconds, difference(out)
  fastest = max(numpy_rates, key=lambda name: numpy_rates[name][0])
  for solver, (rate, diff) in jitted.items():
    print(f"completion lstsq by {solver}, half masked: jitted {rate:,.0f} episodes/s vs the "
          f"fastest NumPy ({fastest}) {numpy_rates[fastest][0]:,.0f}: "
          f"{rate / numpy_rates[fastest][0]:.1f}x; max |difference| from a float64 SVD "
          f"{diff:.1e}")
  for solver, (rate, diff) in vmapped.items():
    print(f"  under jax.vmap (all memories at once): {solver} {rate:,.0f} episodes/s, "
          f"{rate / jitted[solver][0]:.2f}x the mapped read, "
          f"{rate / numpy_rates[fastest][0]:.1f}x the fastest NumPy; max |difference| from a "
          f"float64 SVD {diff:.1e}")
  for method in dkm.RIDGE_METHODS:
    rates = {}
    for form in ("map", "vmap"):
      read = jitted_complete(method, sigma, rcond, form=form)
      jax.block_until_ready(read(means, cues, masks))
      rates[form] = count / _seconds(lambda: jax.block_until_ready(read(means, cues, masks)),
                                     repeats)
    print(f"  ridge read {method}: vmapped {rates['vmap']:,.0f} episodes/s vs mapped "
          f"{rates['map']:,.0f}: {rates['vmap'] / rates['map']:.2f}x")
  print("  NumPy lstsq: " + "; ".join(f"{name} {rate:,.0f}/s (difference {diff:.1e})"
                                       for name, (rate, diff) in numpy_rates.items()))


def sweep(config, rng, repeats):
  """Training step time and half-masked lstsq completion throughput as K, T and batch grow."""
  print("sweep (one axis at a time from K = 32, T = 32, batch = 32):")
  print("| axis | value | step ms (xla) | step ms (lapack) | completion episodes/s |")
  print("| --- | --- | --- | --- | --- |")
  axes = (("K", "model.num_rows", (32, 64, 128, 256, 512)),
          ("T", "episodes_per_memory", (32, 64, 128, 256, 512)),
          ("batch", "batch_size", (1, 4, 16, 64, 256)))
  for label, field, values in axes:
    for value in values:
      variant = config.copy_and_resolve_references()
      variant.model.num_rows, variant.episodes_per_memory, variant.batch_size = 32, 32, 32
      parent, _, leaf = field.rpartition(".")
      (variant[parent] if parent else variant)[leaf] = value
      pool = synthetic_pool(rng, num_chorales=20, episode_steps=variant.data.episode_steps)
      steps = max(2, min(20, 2000 // (value if label != "K" else 32)))
      rates = time_training(variant, pool, steps, repeats)
      line = (f"| {label} | {value} | {1e3 / rates['xla'][0]:.2f} | "
              f"{1e3 / rates['lapack'][0]:.2f} |")
      if label == "batch":
        print(line + " - |")
        continue
      means, batch = written_means(variant, pool, 16, rng)
      mask = half_mask(batch.shape[-1])
      masks = np.broadcast_to(mask, (len(means), mask.size))
      read = jitted_complete("lstsq", variant.model.obs_noise_std, None)
      jax.block_until_ready(read(means, batch, masks))
      seconds = _seconds(lambda: jax.block_until_ready(read(means, batch, masks)), repeats)
      print(line + f" {batch.shape[0] * batch.shape[1] / seconds:,.0f} |")


def main(argv):
  del argv
  config = FLAGS.config
  rng = np.random.default_rng(0)
  pool = synthetic_pool(rng, episode_steps=config.data.episode_steps)
  print(f"devices: {jax.devices()}; config {config.name}: K={config.model.num_rows}, "
        f"C={train.num_cols(config)}, T={config.episodes_per_memory}, batch={config.batch_size}")
  rates = time_training(config, pool, FLAGS.train_steps, FLAGS.repeats)
  (new, new_loss), (old, old_loss) = rates["xla"], rates["lapack"]
  print(f"training: {new:.1f} steps/s (linalg=xla) vs {old:.1f} steps/s (linalg=lapack): "
        f"{new / old:.2f}x; {config.num_train_steps} steps in "
        f"{config.num_train_steps / new / 60:.1f} min; first-step loss {new_loss:.6f} vs "
        f"{old_loss:.6f}")
  means, batch = written_means(config, pool, FLAGS.memories, rng)
  time_completion(config, means, batch, FLAGS.repeats, rng)
  if FLAGS.sweep:
    sweep(config, rng, FLAGS.repeats)
  if FLAGS.prior_config:
    prior_benchmark.report(config_files.load(FLAGS.prior_config), FLAGS.repeats,
                           prior_benchmark.DEFAULT_TRAIN_STEPS)


if __name__ == "__main__":
  _define_flags()
  cli.run(main)
