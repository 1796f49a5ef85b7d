"""Converts a dataset once, with progress, into a pickle-free .npz cache; later runs load it.

A file that cannot be read is reported (which file, why) and skipped; the count is logged. The
cache is written to a temporary name and renamed, so an interrupted conversion never leaves a
half-written cache behind.
"""

import csv
import functools
import multiprocessing
import os
import tempfile
import time
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from absl import logging
import numpy as np


class Piece(NamedTuple):
  array: np.ndarray   # [steps, channels] (or [events] token ids)
  split: str
  labels: dict        # name -> str


class Pieces(NamedTuple):
  """All pieces of one split: concatenated arrays plus per-piece lengths and labels."""
  data: np.ndarray
  lengths: np.ndarray
  labels: dict        # name -> [num_pieces] str array

  def piece(self, i: int) -> np.ndarray:
    """The array of piece `i`."""
    start = int(np.sum(self.lengths[:i]))
    return self.data[start:start + int(self.lengths[i])]

  def __len__(self) -> int:
    return len(self.lengths)


def read_csv_rows(path: str, where_to_get_it: str) -> list[dict[str, str]]:
  """The rows of a dataset's metadata csv; a missing file is an error that says where to get it."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: {where_to_get_it}")
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def _try_load(load, item):
  try:
    return load(item), None
  except Exception as e:  # pylint: disable=broad-except  # any parser error skips the file
    return None, f"{type(e).__name__}: {e}"


def convert(items: Iterable, load: Callable, describe: Callable, progress_every: int = 50,
            workers: int = 1) -> tuple[list[Piece], int]:
  """([Piece] from load(item) for every item, the number skipped): unreadable items are logged
  and skipped.

  With workers > 1, files are converted in that many processes (`load` must be picklable);
  the order of the result does not depend on it.
  """
  items = list(items)
  pieces, skipped, start = [], 0, time.time()
  job = functools.partial(_try_load, load)
  pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
  try:
    results = pool.imap(job, items, chunksize=4) if pool else map(job, items)
    for i, (item, (piece, error)) in enumerate(zip(items, results)):
      if error is not None:
        skipped += 1
        logging.warning("Skipping %s: %s", describe(item), error)
      elif piece is not None:
        pieces.append(piece)
      done = i + 1
      if done % progress_every == 0 or done == len(items):
        elapsed = time.time() - start
        logging.info("Converted %d/%d files (%.1f/s, ETA %.0fs)", done, len(items),
                     done / elapsed, elapsed / done * (len(items) - done))
  finally:
    if pool:
      pool.close()
      pool.join()
  logging.info("Converted %d files, skipped %d unreadable", len(pieces), skipped)
  return pieces, skipped


def save(pieces: Sequence[Piece], path: str) -> None:
  """Writes `pieces` to the .npz cache `path` (atomically: a temporary file renamed over it)."""
  arrays: dict[str, Any] = {}
  for split in sorted({p.split for p in pieces}):
    chosen = [p for p in pieces if p.split == split]
    arrays[f"{split}/data"] = np.concatenate([p.array for p in chosen])
    arrays[f"{split}/lengths"] = np.array([len(p.array) for p in chosen], np.int64)
    for name in chosen[0].labels:
      arrays[f"{split}/label/{name}"] = np.array([str(p.labels[name]) for p in chosen])
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  # A temporary file of this process's own, renamed over `path`: concurrent builders of one
  # cache each write whole files, and the last rename wins.
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".",
                             suffix=".partial.npz")
  os.close(fd)
  try:
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.unlink(tmp)


def load(path: str) -> dict[str, Pieces]:
  """{split: Pieces} from a cache written by `save`."""
  splits: dict[str, dict] = {}
  with np.load(path, allow_pickle=False) as f:
    for key in f.files:
      split, _, rest = key.partition("/")
      entry = splits.setdefault(split, {"labels": {}})
      if rest.startswith("label/"):
        entry["labels"][rest[len("label/"):]] = f[key]
      else:
        entry[rest] = f[key]
  return {s: Pieces(e["data"], e["lengths"], e["labels"]) for s, e in splits.items()}


class DatasetError(ValueError):
  """Data that cannot be used (no readable files): named with what to do."""


def _checked_load(path):
  splits = load(path)
  for split, pieces in splits.items():
    if int(np.sum(pieces.lengths)) != len(pieces.data):
      raise ValueError(f"split {split!r}: piece lengths do not add up to its data")
  if not splits:
    raise ValueError("no splits")
  return splits


def cached(path: str, build: Callable[[], tuple[list[Piece], int]],
           where: str = "the data folder") -> dict[str, Pieces]:
  """Loads `path`, or builds the [Piece] list with `build()` (`convert`'s pair), saves it and
  loads it. A cache that cannot be read (truncated, corrupt) is named, moved aside to
  `<path>.corrupt` and rebuilt."""
  if os.path.exists(path):
    logging.info("Loading cached dataset %s", path)
    try:
      return _checked_load(path)
    except Exception as e:  # pylint: disable=broad-except  # zipfile/numpy raise many types
      aside = path + ".corrupt"
      os.replace(path, aside)
      logging.warning("Cache %s is unreadable (%s: %s); moved it to %s and rebuilding it.",
                      path, type(e).__name__, e, aside)
  logging.info("No cache at %s; converting (once)", path)
  pieces, _ = build()
  if not pieces:
    raise DatasetError(f"{path}: no readable files to build it from {where}; check the path "
                       "and that it holds the dataset's files")
  save(pieces, path)
  return load(path)
