r"""Speed of the TCN k-WTA autoencoder per config, on synthetic windows of the right shape.

  python -m tcn_wta.tools.benchmark [--steps=200] [--sweep]

Prints training windows/s and encode windows/s for each config file in --configs, the training
step with the dense against the sparse decoder (`tcn_wta.decoders`) and with top_k against the
threshold k-WTA (`music_runtime.training.layers`) at the config's first and last k, and, for the
drum model (no TCN), the jitted encode + decode against a NumPy implementation of the same model
in the same process, as a ratio with the largest difference. `--sweep` prints how the training
step's time grows with the dictionary size D and the window length, relative to the config's own,
and the decoder's and the k-WTA's forward + backward time over k / D for each way.
`--midi_dir` also times MAESTRO's conversion steps (reading MIDI files, into NoteSequences, into
event tokens) against mido's and note_seq's code, checking every result equal.
"""

import glob
import os
import time

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.files import midi_reader
from music_runtime.running import cli
from music_runtime.running import config_files
from music_runtime.training import layers
from music_runtime.training import sharding
from tcn_wta import decoders
from tcn_wta.datasets import data
from tcn_wta.datasets import maestro
from tcn_wta.datasets import representations
from tcn_wta.training import train

FLAGS = flags.FLAGS


def _define_flags():
  """Defined only when run as a program, so that importing this module (tests) defines none."""
  flags.DEFINE_integer("steps", 200, "Timed training steps per config.")
  flags.DEFINE_integer("compare_steps", 30, "Timed training steps per decoder / k-WTA variant.")
  flags.DEFINE_integer("encode_windows", 4096, "Windows encoded per config.")
  flags.DEFINE_list("configs", ["configs/groove.py", "configs/maestro.py",
                                "configs/maestro.py:roll_sparse", "configs/corpus.py"],
                    "Config files (path or path:variant) to time; the drum model first (the "
                    "NumPy ratio).")
  flags.DEFINE_bool("sweep", False, "Also time the step against D and the window length.")
  flags.DEFINE_list("sweep_configs", ["configs/groove.py", "configs/corpus.py"],
                    "Config files whose step is swept.")
  flags.DEFINE_string("midi_dir", "", "A folder of MIDI files (e.g. MAESTRO's): also time their "
                      "conversion steps against mido's and note_seq's, and check they agree.")
  flags.DEFINE_integer("midi_files", 40, "MIDI files read from --midi_dir (every n-th, sorted).")

# Input channels of each representation (drum classes, Performance RNN events, 88 keys, ids).
CHANNELS = {"drums": 27, "events": 388, "roll": 88, "event_ids": 1}


def load_config(path):
  """The config of `path`, or of its variant for `path:variant`."""
  path, _, variant = path.partition(":")
  return config_files.load_module(path).get_config(variant)


def synthetic_pool(config, channels, rng, num_rows=20_000):
  if representations.of(config.data).token_ids:
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


def _train_rate(config, channels, rng, num_steps, k=None, **model_overrides):
  """(windows/s of training, net, state, pool, k) for a config on synthetic windows, at k
  (default: the config's last) with the model's fields `model_overrides` changed."""
  net = train.build_model(config, channels).clone(**model_overrides)
  state = train.create_state(config, net)
  pool = synthetic_pool(config, channels, rng)
  k = config.model.k.k_end if k is None else k
  step = train.make_train_step(config, net, sharding.make_mesh(1))
  key = jax.random.PRNGKey(0)
  state, scalars = step(state, pool, key, k)
  jax.block_until_ready(scalars)
  start = time.perf_counter()
  for _ in range(num_steps):
    state, scalars = step(state, pool, key, k)
  jax.block_until_ready(scalars)
  return num_steps * config.batch_size / (time.perf_counter() - start), net, state, pool, k


def time_config(path, rng):
  config = load_config(path)
  name = config.name
  channels = CHANNELS[config.data.representation]
  train_rate, net, state, pool, k = _train_rate(config, channels, rng, FLAGS.steps)
  ids = jnp.arange(FLAGS.encode_windows) % pool.starts.shape[0]
  windows = representations.of(config.data).to_inputs(
      data.gather(pool, ids, config.data.window), channels)
  encode = jax.jit(lambda p, x: net.apply({"params": p}, x, k, method=net.encode))
  jax.block_until_ready(encode(state["params"], windows))
  start = time.perf_counter()
  jax.block_until_ready(encode(state["params"], windows))
  encode_rate = FLAGS.encode_windows / (time.perf_counter() - start)
  print(f"{name}: train {train_rate:,.0f} windows/s (batch {config.batch_size} x "
        f"{config.data.window} steps, k={k}); encode {encode_rate:,.0f} windows/s")
  compare_variants(config, channels, rng)
  return config, net, state["params"], windows, k


def compare_variants(config, channels, rng):
  """Training windows/s with each decoder and each k-WTA, at the config's first and last k."""
  num_atoms = config.model.num_atoms
  for k in sorted({config.model.k.k_start, config.model.k.k_end}):
    rate = lambda **fields: _train_rate(config, channels, rng, FLAGS.compare_steps, k,
                                        **fields)[0]
    dense, sparse = rate(decoder="dense", kwta="top_k"), rate(decoder="sparse")
    threshold = rate(decoder="dense", kwta="threshold")
    auto = "sparse" if decoders.use_sparse("auto", k, num_atoms) else "dense"
    kwta = "threshold" if layers.uses_threshold(k, num_atoms) else "top_k"
    print(f"  k={k} of D={num_atoms} ({k / num_atoms:.1%}): decoder dense {dense:,.0f} vs "
          f"sparse {sparse:,.0f} windows/s ({sparse / dense:.2f}x; auto: {auto}); k-WTA top_k "
          f"{dense:,.0f} vs threshold {threshold:,.0f} ({threshold / dense:.2f}x; auto: {kwta})")


def _forward_backward_ms(loss, *args, repeats=5):
  """Milliseconds per call of loss's jitted value and gradient in its first argument."""
  step = jax.jit(jax.value_and_grad(loss))
  jax.block_until_ready(step(*args))
  start = time.perf_counter()
  for _ in range(repeats):
    out = step(*args)
  jax.block_until_ready(out)
  return 1e3 * (time.perf_counter() - start) / repeats


def sweep_sparsity(rng, num_steps=2048):
  """Decoder (dense vs sparse) and k-WTA (top_k vs threshold) forward + backward over k / D, at
  2,048 code steps (MAESTRO's batch): where each way is the faster."""
  print(f"sparsity sweep ({num_steps} code steps; ms per forward + backward):")
  print("| D | P C | k | k / D | dense decoder | sparse decoder | sparse speed-up | top_k | "
        "threshold | threshold speed-up |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for num_atoms, width in ((100, 108), (200, 352), (1000, 352), (1000, 1552)):
    atoms = jnp.asarray(rng.normal(size=(num_atoms, 4, width // 4)), jnp.float32)
    h = jnp.asarray(rng.normal(size=(num_steps, num_atoms)), jnp.float32)
    for k in (1, 2, 4, 8, 16, 32, 64, 100):
      if k > num_atoms // 2:
        continue
      values, indices = jax.lax.top_k(h, k)
      dense_ms = _forward_backward_ms(lambda v, d: jnp.sum(decoders.decode_dense(
          layers.winners_to_code(v, indices, num_atoms), d) ** 2), values, atoms)
      sparse_ms = _forward_backward_ms(lambda v, d: jnp.sum(decoders.decode_sparse(
          v, indices, d) ** 2), values, atoms)
      kwta_ms = {m: _forward_backward_ms(lambda h, m=m: jnp.sum(
          layers.k_winners_take_all(h, k, m) ** 2), h) for m in ("top_k", "threshold")}
      print(f"| {num_atoms} | {width} | {k} | {k / num_atoms:.1%} | {dense_ms:.2f} | "
            f"{sparse_ms:.2f} | {dense_ms / sparse_ms:.2f}x | {kwta_ms['top_k']:.2f} | "
            f"{kwta_ms['threshold']:.2f} | {kwta_ms['top_k'] / kwta_ms['threshold']:.2f}x |")


def sweep(path, rng, num_steps=20):
  """Training step time against D and the window length, each relative to the config's."""
  base = load_config(path)
  channels = CHANNELS[base.data.representation]
  base_rate = _train_rate(base, channels, rng, num_steps)[0]
  print(f"sweep {base.name} (D = {base.model.num_atoms}, window {base.data.window}: "
        f"{1e3 * base.batch_size / base_rate:.2f} ms/step)")
  print("| axis | value | ms/step | vs the config's |")
  print("| --- | --- | --- | --- |")
  for field, values in (("num_atoms", (50, 100, 200, 400, 800, 1600)),
                        ("window", (32, 64, 128, 256, 512))):
    for value in values:
      config = base.copy_and_resolve_references()
      if field == "num_atoms":
        config.model.num_atoms = value
      else:
        config.data.window = value
      rate = _train_rate(config, channels, rng, num_steps)[0]
      print(f"| {'D' if field == 'num_atoms' else 'window'} | {value} | "
            f"{1e3 * config.batch_size / rate:.2f} | {base_rate / rate:.2f}x |")


def time_midi_reading(directory, count):
  """MAESTRO's conversion steps, ours against the libraries', file by file, alternated: MIDI file
  -> mido objects (`midi_reader.read` vs `mido.MidiFile`), -> NoteSequence (vs note_seq's
  reader), sustained NoteSequence -> event tokens (vs note_seq's Performance); every pair of
  results must be equal."""
  import mido  # pylint: disable=import-outside-toplevel
  import note_seq  # pylint: disable=import-outside-toplevel
  from note_seq import sequences_lib  # pylint: disable=import-outside-toplevel
  files = sorted(glob.glob(os.path.join(directory, "**", "*.mid*"), recursive=True))
  if not files:
    raise FileNotFoundError(f"--midi_dir={directory}: no .mid / .midi files")
  files = files[::max(1, len(files) // count)][:count]
  seconds = {"mido": [0.0, 0.0], "read": [0.0, 0.0], "tokens": [0.0, 0.0]}  # [ours, theirs]

  def timed(stage, which, fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    seconds[stage][which] += time.perf_counter() - start
    return out

  for path in files:
    ours, theirs = timed("mido", 0, midi_reader.read, path), timed("mido", 1, mido.MidiFile, path)
    if [list(map(vars, t)) for t in ours.tracks] != [list(map(vars, t)) for t in theirs.tracks]:
      raise AssertionError(f"{path}: the mido messages differ")
    ours = timed("read", 0, midi_reader.note_sequence, path)
    if ours != timed("read", 1, note_seq.midi_file_to_note_sequence, path):
      raise AssertionError(f"{path}: the NoteSequences differ")
    sustained = sequences_lib.apply_sustain_control_changes(ours)  # as MAESTRO's conversion
    tokens = timed("tokens", 0, maestro.sequence_to_events, sustained)
    if not np.array_equal(tokens, timed("tokens", 1, maestro.sequence_to_events_by_note_seq,
                                        sustained)):
      raise AssertionError(f"{path}: the event tokens differ")
  for stage, what, whose in (("mido", "MIDI file -> mido objects", "mido"),
                            ("read", "MIDI -> NoteSequence", "note_seq"),
                            ("tokens", "NoteSequence -> Performance event tokens", "note_seq")):
    ours, theirs = seconds[stage]
    print(f"{what}, {len(files)} files of {directory}: ours {len(files) / ours:.1f} files/s vs "
          f"{whose} {len(files) / theirs:.1f} files/s: {theirs / ours:.2f}x; all equal")


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f"devices: {jax.devices()}")
  if FLAGS.midi_dir:
    time_midi_reading(FLAGS.midi_dir, FLAGS.midi_files)
  results = [time_config(path, rng) for path in FLAGS.configs]
  if FLAGS.sweep:
    for path in FLAGS.sweep_configs:
      sweep(path, rng)
    sweep_sparsity(rng)

  config, net, params, windows, k = results[0]
  if config.data.dataset != "groove":
    return
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
  _define_flags()
  cli.run(main)
