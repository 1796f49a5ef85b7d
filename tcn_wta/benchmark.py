r"""Speed of the TCN k-WTA autoencoder per config, on synthetic windows of the right shape.

  python -m tcn_wta.benchmark [--steps=200]

Prints training windows/s and encode windows/s for configs/groove.py, maestro.py and corpus.py,
and, for the drum model (no TCN), the jitted encode + decode against a NumPy implementation of
the same model in the same process, as a ratio with the largest difference.
"""

import importlib
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music import cli
from kanerva_music import sharding
from tcn_wta import data
from tcn_wta import train

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 200, "Timed training steps per config.")
flags.DEFINE_integer("encode_windows", 4096, "Windows encoded per config.")

CHANNELS = {"groove": 27, "maestro": 388, "corpus": 88}


def synthetic_pool(config, channels, rng, num_rows=20_000):
  if config.data.representation == "events":
    rows = rng.integers(0, channels, num_rows).astype(np.int16)
  else:
    rows = (rng.random((num_rows, channels)) < 0.1).astype(np.float32)
  starts = np.arange(0, num_rows - config.data.window, config.data.train_hop, dtype=np.int32)
  return data.WindowPool(jnp.asarray(rows), jnp.asarray(starts))


def numpy_encode_decode(params, x, k, patch):
  """The drum model (Conv1D kernel = stride = P, k-WTA, dictionary) in NumPy, float64."""
  kernel = np.asarray(params["to_atoms"]["kernel"], np.float64)  # [P, C, D]
  bias = np.asarray(params["to_atoms"]["bias"], np.float64)
  atoms = np.asarray(params["dictionary"], np.float64)             # [D, P, C]
  b, length, c = x.shape
  patches = x.reshape(b, length // patch, patch * c)
  dense = patches @ kernel.reshape(patch * c, -1) + bias
  losers = np.argpartition(dense, -k, axis=-1)[..., :-k]
  np.put_along_axis(dense, losers, 0.0, axis=-1)
  return np.einsum("btd,dpc->btpc", dense, atoms).reshape(b, length, c)


def time_config(name, rng):
  config = importlib.import_module(f"configs.{name}").get_config()
  channels = CHANNELS[name]
  net = train.build_model(config, channels)
  state = train.create_state(config, net)
  pool = synthetic_pool(config, channels, rng)
  k = config.model.k.k_end
  step = train.make_train_step(config, net, sharding.make_mesh(1))
  key = jax.random.PRNGKey(0)
  state, scalars = step(state, pool, key, k)
  jax.block_until_ready(scalars)
  start = time.perf_counter()
  for _ in range(FLAGS.steps):
    state, scalars = step(state, pool, key, k)
  jax.block_until_ready(scalars)
  train_rate = FLAGS.steps * config.batch_size / (time.perf_counter() - start)

  ids = jnp.arange(FLAGS.encode_windows) % pool.starts.shape[0]
  windows = train.to_inputs(data.gather(pool, ids, config.data.window),
                            config.data.representation, channels)
  encode = jax.jit(lambda p, x: net.apply({"params": p}, x, k, method=net.encode))
  jax.block_until_ready(encode(state["params"], windows))
  start = time.perf_counter()
  jax.block_until_ready(encode(state["params"], windows))
  encode_rate = FLAGS.encode_windows / (time.perf_counter() - start)
  print(f"{name}: train {train_rate:,.0f} windows/s (batch {config.batch_size} x "
        f"{config.data.window} steps, k={k}); encode {encode_rate:,.0f} windows/s")
  return config, net, state["params"], windows, k


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f"devices: {jax.devices()}")
  results = {name: time_config(name, rng) for name in ("groove", "maestro", "corpus")}

  config, net, params, windows, k = results["groove"]
  roundtrip = jax.jit(lambda p, x: net.apply({"params": p}, x, k)[0])
  jax.block_until_ready(roundtrip(params, windows))
  start = time.perf_counter()
  ours = jax.block_until_ready(roundtrip(params, windows))
  ours_rate = len(windows) / (time.perf_counter() - start)
  x = np.asarray(windows, np.float64)
  start = time.perf_counter()
  theirs = numpy_encode_decode(params, x, k, config.model.patch)
  numpy_rate = len(windows) / (time.perf_counter() - start)
  print(f"groove encode+decode: jitted {ours_rate:,.0f} windows/s; NumPy {numpy_rate:,.0f} "
        f"windows/s; ratio {ours_rate / numpy_rate:.1f}x; max |difference| "
        f"{np.max(np.abs(np.asarray(ours, np.float64) - theirs)):.2e}")


if __name__ == "__main__":
  cli.run(main)
