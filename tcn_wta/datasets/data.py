"""Datasets for the TCN k-WTA autoencoder: cached conversion, windows and on-device sampling."""

import functools
import hashlib
import os
from typing import NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.files import dataset_cache
from music_runtime.files import provenance
from tcn_wta.datasets import corpus
from tcn_wta.datasets import groove
from tcn_wta.datasets import maestro

CACHE_VERSION = 2  # 2: MAESTRO pieces carry canonical_title


def cache_dir(data_config):
  """config.data.cache_dir, else $XDG_CACHE_HOME/tcn_wta (~/.cache/tcn_wta)."""
  return data_config.cache_dir or os.path.join(
      os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tcn_wta")


def source_fingerprint(root):
  """12 hex digits that change with the dataset folder's content: every file's relative path
  and bytes. The cache is keyed by it, so another folder (or a changed one) is converted anew
  instead of silently reusing another dataset's arrays, while a copied or restored folder (new
  paths, new modification times, same files) keeps its cache. Hashing MAESTRO's 1,282 MIDI
  files takes about a second."""
  if not root or not os.path.isdir(root):
    return "missing"  # the loader then says where to get the data
  digest = hashlib.sha1()
  for folder, dirs, names in os.walk(root):
    dirs.sort()
    for name in sorted(names):
      path = os.path.join(folder, name)
      digest.update(f"{os.path.relpath(path, root)}\0{os.path.getsize(path)}\0".encode())
      with open(path, "rb") as f:
        digest.update(hashlib.sha1(f.read()).digest())
  return digest.hexdigest()[:12]


def describe_source(data_config):
  """What a report says of its data: the dataset, where it was read from, and its cache."""
  if data_config.dataset == "corpus":
    where = (f"music21's bundled corpus ({', '.join(data_config.composers)}; at most "
             f"{data_config.max_per_composer} per composer)")
  else:
    where = os.path.abspath(data_config.root)
  return {"dataset": data_config.dataset, "representation": data_config.representation,
          "source": where, "cache": cache_path(data_config)}


def _groove_pieces(data_config):
  root = data_config.root
  rows = groove.read_info(root)

  def load(row):
    labels = {name: row[name] for name in groove.LABELS}
    return dataset_cache.Piece(groove.load_file(root, row), row["split"], labels)

  return dataset_cache.convert(rows, load, lambda row: os.path.join(root, row["midi_filename"]))


def _maestro_pieces(data_config):
  rows = maestro.read_metadata(data_config.root)
  load = functools.partial(maestro.load_file, data_config.root, data_config.representation,
                           data_config.frames_per_second)
  return dataset_cache.convert(rows, load,
                               lambda row: os.path.join(data_config.root, row["midi_filename"]),
                               workers=data_config.workers or os.cpu_count())


def _corpus_pieces(data_config):
  items = corpus.corpus_files(data_config.composers, data_config.max_per_composer)
  return dataset_cache.convert(items, corpus.load_item, lambda item: item[1],
                               workers=data_config.workers or os.cpu_count())


def _converter(data_config):
  """(build, channels, cache tag) of config.data.dataset."""
  name = data_config.dataset
  if name == "groove":
    build, channels, tag = (lambda: _groove_pieces(data_config)), groove.CHANNELS, "drums"
  elif name == "maestro":
    build = lambda: _maestro_pieces(data_config)
    if data_config.representation in ("events", "event_ids"):  # one cache: the token ids
      channels = maestro.NUM_EVENTS if data_config.representation == "events" else 1
      tag = "events"
    else:
      channels, tag = maestro.NUM_KEYS, f"roll{data_config.frames_per_second}"
  elif name == "corpus":
    build, channels = (lambda: _corpus_pieces(data_config)), corpus.NUM_KEYS
    tag = "_".join(data_config.composers) + f"_{data_config.max_per_composer}"
  else:
    raise ValueError(f"Unknown dataset {name!r}; expected 'groove', 'maestro' or 'corpus'")
  if name in ("groove", "maestro"):
    tag += "_" + source_fingerprint(data_config.root)
  return build, channels, tag


def cache_path(data_config):
  """The converted dataset's cache file, keyed by the source folder's fingerprint."""
  _, _, tag = _converter(data_config)
  return os.path.join(cache_dir(data_config), f"{data_config.dataset}_{tag}_v{CACHE_VERSION}.npz")


def load_dataset(data_config):
  """({split: Pieces}, channels) for config.data.dataset, converted once and cached."""
  build, channels, _ = _converter(data_config)
  where = (f"config.data.root = {data_config.root!r}" if data_config.dataset != "corpus"
           else "music21's corpus")
  splits = dataset_cache.cached(cache_path(data_config), build, where)
  logging.info("Dataset %s: %s", data_config.dataset,
               ", ".join(f"{s} {len(p)} pieces" for s, p in sorted(splits.items())))
  return splits, channels


def data_source(data_config, splits) -> provenance.DataSource:
  """The provenance of a loaded dataset: its kind, source folder and the hash of its arrays."""
  digest = provenance.hash_arrays(
      (f"{split}/{name}", array) for split in sorted(splits)
      for name, array in (("data", splits[split].data), ("lengths", splits[split].lengths)))
  path = (os.path.abspath(data_config.root) if data_config.dataset != "corpus"
          else cache_path(data_config))
  return provenance.DataSource(data_config.dataset, path, digest,
                               f"{data_config.dataset} {data_config.representation} from {path}")


class WindowPool(NamedTuple):
  """Windows of one split, as device arrays (a pytree, so it can enter `jit`)."""
  data: jax.Array     # [N, C] all pieces of the split, concatenated
  starts: jax.Array   # [W] row where each window starts


def make_pool(pieces, window, hop, shift_seed=None):
  """Every window of `window` steps (or events) starting at a multiple of `hop` in one piece;
  with `shift_seed`, each start moved later by a random 0..hop-1 steps (within the piece)."""
  starts, offset = [], 0
  rng = np.random.default_rng(shift_seed) if shift_seed is not None else None
  for length in pieces.lengths:
    piece_starts = np.arange(0, int(length) - window + 1, hop)
    if rng is not None:
      piece_starts = np.minimum(piece_starts + rng.integers(0, hop, len(piece_starts)),
                                int(length) - window)
    starts.append(offset + piece_starts)
    offset += int(length)
  starts = np.concatenate(starts).astype(np.int32)
  if starts.size == 0:
    longest = int(np.max(pieces.lengths)) if len(pieces.lengths) else 0
    raise dataset_cache.DatasetError(
        f"config.data.window = {window}: no piece is that long (the longest has {longest} "
        "steps); use a shorter window")
  return WindowPool(jnp.asarray(pieces.data), jnp.asarray(starts))


def training_pool(data_config, pieces):
  """Training windows: every `train_hop` steps, so on bar lines / beats (data.phase = "beat"),
  or at every step (data.phase = "any", the beat-alignment ablation)."""
  hop = 1 if data_config.phase == "any" else data_config.train_hop
  return make_pool(pieces, data_config.window, hop)


def evaluation_pool(data_config, pieces):
  """Non-overlapping evaluation windows; for data.phase = "any" each starts a fixed random
  number of steps later, so most start off the beat."""
  any_phase = data_config.phase == "any"
  return make_pool(pieces, data_config.window, data_config.window, 0 if any_phase else None)


def gather(pool, window_ids, window):
  """[len(window_ids), window, C] windows."""
  rows = pool.starts[window_ids][:, None] + jnp.arange(window)
  return pool.data[rows]


def sample_windows(pool, rng, batch_size, window):
  """A uniform batch of windows, sampled on device."""
  ids = jax.random.randint(rng, (batch_size,), 0, pool.starts.shape[0])
  return gather(pool, ids, window)
