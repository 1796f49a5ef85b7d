"""Datasets for the TCN k-WTA autoencoder: cached conversion, windows and on-device sampling."""

import os
from typing import NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music import chorales
from tcn_wta import dataset_cache
from tcn_wta import groove

CACHE_VERSION = 1


def cache_dir(data_config):
  return data_config.cache_dir or os.path.join(
      os.path.dirname(chorales.default_data_dir()), "tcn_wta")


def _groove_pieces(data_config):
  root = data_config.root
  rows = groove.read_info(root)

  def load(row):
    labels = {name: row[name] for name in groove.LABELS}
    return dataset_cache.Piece(groove.load_file(root, row), row["split"], labels)

  return dataset_cache.convert(rows, load, lambda row: os.path.join(root, row["midi_filename"]))


def load_dataset(data_config):
  """{split: Pieces} for config.data.dataset, converted once and cached."""
  name = data_config.dataset
  if name == "groove":
    build, channels = (lambda: _groove_pieces(data_config)), groove.CHANNELS
  else:
    raise ValueError(f"Unknown dataset {name!r}; expected 'groove'")
  path = os.path.join(cache_dir(data_config), f"{name}_v{CACHE_VERSION}.npz")
  splits = dataset_cache.cached(path, build)
  logging.info("Dataset %s: %s", name, ", ".join(f"{s} {len(p)} pieces"
                                                  for s, p in sorted(splits.items())))
  return splits, channels


class WindowPool(NamedTuple):
  """Windows of one split, as device arrays (a pytree, so it can enter `jit`)."""
  data: jax.Array     # [N, C] all pieces of the split, concatenated
  starts: jax.Array   # [W] row where each window starts


def make_pool(pieces, window, hop):
  """Every window of `window` steps starting at a multiple of `hop` within one piece."""
  starts, offset = [], 0
  for length in pieces.lengths:
    starts.append(offset + np.arange(0, int(length) - window + 1, hop))
    offset += int(length)
  starts = np.concatenate(starts).astype(np.int32)
  if starts.size == 0:
    raise ValueError(f"No piece is {window} steps long")
  return WindowPool(jnp.asarray(pieces.data), jnp.asarray(starts))


def gather(pool, window_ids, window):
  """[len(window_ids), window, C] windows."""
  rows = pool.starts[window_ids][:, None] + jnp.arange(window)
  return pool.data[rows]


def sample_windows(pool, rng, batch_size, window):
  """A uniform batch of windows, sampled on device."""
  ids = jax.random.randint(rng, (batch_size,), 0, pool.starts.shape[0])
  return gather(pool, ids, window)
