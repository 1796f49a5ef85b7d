"""Shared test setup: fast CPU compilation, and small made-up data and configs for every test
module."""

import csv
import os
import re
import shutil
import tempfile

import jax
import numpy as np
import pytest

from configs import chorales as chorales_config
from configs import groove as groove_config
from kanerva_music.data import chorales
from tcn_wta import model as model_lib
from tcn_wta.datasets import groove

jax.config.update("jax_disable_most_optimizations", True)

# One persistent compilation cache per test run, shared by the xdist workers and the binaries
# the tests start: a program compiled once (a binary's training step and report reads, run again
# by the next test of that binary) is loaded, not compiled again. Entries are keyed by the
# program, versions and compiler options, so a cached one equals a fresh compile.
_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"


def pytest_configure(config):
  # The controller (or a run without xdist) makes the cache; xdist workers inherit its env.
  if not hasattr(config, "workerinput") and not os.environ.get(_CACHE_ENV):
    config.test_jax_cache = tempfile.mkdtemp(prefix="test-jax-cache-")
    os.environ[_CACHE_ENV] = config.test_jax_cache
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  if not os.environ.get(_CACHE_ENV):
    return
  jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_ENV])
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def pytest_unconfigure(config):
  if getattr(config, "test_jax_cache", None):
    shutil.rmtree(config.test_jax_cache, ignore_errors=True)


def with_own_compilation_cache(cache_dir, environ=os.environ):
  """A copy of `environ` whose binaries share the compilation cache `cache_dir`, not the test
  run's: the first binary given a new one compiles every program, as a user's first run does."""
  return {**environ, _CACHE_ENV: str(cache_dir), "MUSIC_RUNTIME_JAX_CACHE": "off"}


# An error-level line of XLA's (absl's C++) log, e.g. "E1203 05:12:00.123456  123
# slow_operation_alarm.cc:73] Constant folding an instruction is taking > 1s".
_XLA_ERROR_LINE = re.compile(r"^E\d{4} [\d:. ]+\S+\.(?:cc|h):\d+\]", re.MULTILINE)


def xla_error_lines(stderr):
  """The error-level XLA log lines in a binary's stderr."""
  return [m.group(0) + stderr[m.end():].split("\n", 1)[0] for m in _XLA_ERROR_LINE.finditer(stderr)]


def write_object_npz(path, splits):
  """An npz in the Jsb16thSeparated layout: each split an object array of (T, 4) arrays."""
  arrays = {}
  for name, chorale_list in splits.items():
    holder = np.empty(len(chorale_list), dtype=object)
    holder[:] = chorale_list
    arrays[name] = holder
  np.savez(path, **arrays)


def random_splits(rng, num=3, length=40):
  """Random-walk four-voice chorales in the model's pitch range."""
  def chorale(n):
    walk = 58 + np.cumsum(rng.integers(-2, 3, size=(n, 4)), axis=0) + np.array([12, 4, -4, -12])
    return np.clip(walk, 36, 81).astype(np.float16)
  return {s: [chorale(length + i) for i in range(num)] for s in chorales.SPLITS}


@pytest.fixture
def chord_chorale_npz(tmp_path):
  """Chorales of random chords held a beat (4 steps) each, 9 pitches per voice: a window's second
  half cannot be guessed from its first, so only a memory completes it."""
  rng = np.random.default_rng(0)

  def chorale(num_beats=20):
    beats = np.array([72, 64, 57, 48]) + rng.integers(-4, 5, size=(num_beats, 4))
    return np.repeat(beats, 4, axis=0).astype(np.float16)

  path = tmp_path / "chord_chorales.npz"
  write_object_npz(path, {s: [chorale() for _ in range(6)] for s in chorales.SPLITS})
  return str(path)


@pytest.fixture
def tiny_chorale_npz(tmp_path):
  path = tmp_path / "tiny_chorales.npz"
  write_object_npz(path, random_splits(np.random.default_rng(0), num=4, length=72))
  return str(path)


def _tiny(config, data_path, num_train_steps):
  """8-step episodes, K = 4 rows, T = 4, batch 2, 3 evaluation memories, logs every step."""
  config.data.path = data_path
  config.data.episode_steps = 8
  config.model.num_rows = 4
  config.episodes_per_memory = 4
  config.batch_size = 2
  config.num_train_steps = num_train_steps
  config.log_every_steps = 1
  config.eval_every_steps = 2
  config.checkpoint_every_steps = 2
  config.eval.num_memories = 3
  return config


def tiny_config(data_path, num_train_steps=2):
  config = _tiny(chorales_config.get_config(), data_path, num_train_steps)
  config.eval.capacity_rows = (4, 8)
  config.eval.capacity_sizes = (2, 4, 8)
  config.eval.recall_sizes = (2, 8)
  return config


def make_net(channels=5, atoms=7, patch=4, tcn=(6, 8)):
  return model_lib.TcnWta(channels=channels, num_atoms=atoms, patch=patch, tcn_features=tcn)


def write_fake_groove(root, bad_file=True, second_drummer=0):
  """A tiny Groove folder: info.csv, random drum MIDI per split, and one corrupt file; with
  `second_drummer` more files by "drummer2" (funk), who plays sparser and louder."""
  import note_seq  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(1)
  rows = []
  files = [("drummer1", "rock", split, 0.3, 0.7)
           for split in ["train", "train", "validation", "test", "train"]]
  files += [("drummer2", "funk/groove2", "train", 0.1, 1.0)] * second_drummer
  for i, (drummer, style, split, density, velocity) in enumerate(files):
    os.makedirs(root / drummer, exist_ok=True)
    tensor = np.zeros((96, groove.CHANNELS), np.float32)
    hits = rng.random((96, groove.NUM_CLASSES)) < density
    tensor[:, :9] = hits
    tensor[:, 9:18] = hits * velocity
    name = f"{drummer}/{i}_{style.replace('/', '-')}_100_beat_4-4.mid"
    if bad_file and i == 4:
      (root / name).write_bytes(b"MThd garbage, not a MIDI file")
    else:
      note_seq.sequence_proto_to_midi_file(groove.tensor_to_sequence(tensor, 100.0),
                                           str(root / name))
    rows.append({"drummer": drummer, "session": "s", "id": str(i), "style": style,
                 "bpm": "100", "beat_type": "beat", "time_signature": "4-4",
                 "midi_filename": name, "audio_filename": "", "duration": "1", "split": split})
  rows.append(dict(rows[0], time_signature="3-4", id="x"))  # not 4/4: ignored
  with open(root / "info.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def tiny_groove_config(root, cache_dir, steps=2):
  config = groove_config.get_config()
  config.data.root = str(root)
  config.data.cache_dir = str(cache_dir)
  config.model.num_atoms = 6
  config.model.tcn_features = (4,)
  config.model.k.k_start, config.model.k.k_end, config.model.k.decay_every = 2, 1, 1
  config.batch_size = 4
  config.num_train_steps = steps
  config.log_every_steps = 1
  config.checkpoint_every_steps = 2
  return config


def write_score(path, parts, fmt="midi"):
  from music21 import note, stream  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitches in parts:
    part = stream.Part()
    part.partName = name
    for p in pitches:
      part.append(note.Note(p, quarterLength=1))
    score.insert(0, part)
  score.write(fmt, fp=str(path))


def four_voices(num_quarters=16, rng=None):
  rng = rng or np.random.default_rng(0)
  centres = (72, 64, 55, 45)
  return [(name, [int(c + rng.integers(-3, 4)) for _ in range(num_quarters)])
          for name, c in zip(("Soprano", "Alto", "Tenor", "Bass"), centres)]


# Fixtures built once per session: the tests that read one run on one xdist worker
# (`--dist loadgroup`, pytest.ini), so each is built once per run, not once per worker.
SHARED_FIXTURES = ("trained_prior", "trained_workdir", "reported_workdir")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
  del config
  for item in items:
    shared = [name for name in SHARED_FIXTURES if name in getattr(item, "fixturenames", ())]
    if shared:
      item.add_marker(pytest.mark.xdist_group(shared[0]))
