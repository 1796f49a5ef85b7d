"""Finds and loads the JSB chorales as {split: [(T, 4) MIDI pitch arrays]} (NaN = rest).

Sources, in order (docs/dkm.md, "Episodes"):
  1. `config.data.path`, when set;
  2. `Jsb16thSeparated.npz` in the data directory ($KANERVA_MUSIC_DATA, else ~/.cache/kanerva_music);
  3. a download from the official repository into the data directory (checked by SHA-256);
  4. offline: the same format built from music21's bundled Bach chorales (see `bach_corpus`).
"""

import hashlib
import os
import urllib.error
import urllib.request

from absl import logging
import numpy as np

from music_runtime.files import provenance
from music_runtime.files import safe_npz

FILENAME = "Jsb16thSeparated.npz"
OFFICIAL_URL = "https://github.com/czhuang/JSB-Chorales-dataset/raw/master/Jsb16thSeparated.npz"
OFFICIAL_SHA256 = "2adcdf0d57880c3763f104555072285fe7f9e3d6049fcc4b9830557b8d4a7820"
SPLITS = ("train", "valid", "test")  # the file's members
# The project's split names (tcn_wta's datasets say "validation" too).
SPLIT_NAMES = {"train": "train", "valid": "validation", "test": "test"}
NUM_VOICES = 4
WHERE_TO_GET = (
    f"Get {FILENAME} from {OFFICIAL_URL} (the czhuang/JSB-Chorales-dataset repository) and either "
    "pass --config.data.path=/path/to/it or put it in $KANERVA_MUSIC_DATA "
    "(default ~/.cache/kanerva_music).")


class ChoraleDataError(ValueError):
  """A chorale file is missing, unreadable or not in the (T, 4) pitch format."""


def default_data_dir():
  return os.environ.get("KANERVA_MUSIC_DATA") or os.path.join(
      os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kanerva_music")


def validate_splits(splits, source):
  """Checks the {split: [(T, 4) arrays]} format; returns float32 copies."""
  missing = [s for s in SPLITS if s not in splits]
  if missing:
    raise ChoraleDataError(f"{source}: missing split(s) {missing}; expected keys {list(SPLITS)}")
  out = {}
  for split in SPLITS:
    chorales = []
    for i, chorale in enumerate(splits[split]):
      chorale = np.asarray(chorale)
      if chorale.ndim != 2 or chorale.shape[1] != NUM_VOICES:
        raise ChoraleDataError(
            f"{source}: {split}[{i}] has shape {chorale.shape}; expected (T, {NUM_VOICES}) "
            "MIDI pitches (soprano, alto, tenor, bass) per 16th note")
      if not np.issubdtype(chorale.dtype, np.number):
        raise ChoraleDataError(f"{source}: {split}[{i}] has non-numeric dtype {chorale.dtype}")
      if np.isinf(chorale).any():
        raise ChoraleDataError(f"{source}: {split}[{i}] holds infinite values; expected MIDI "
                               "pitches, NaN for a rest")
      pitches = chorale[np.isfinite(chorale)]
      if pitches.size and (pitches.min() < 0 or pitches.max() > 127):
        raise ChoraleDataError(f"{source}: {split}[{i}] holds values outside MIDI pitch 0..127")
      chorales.append(chorale.astype(np.float32))
    if not chorales:
      raise ChoraleDataError(f"{source}: split {split!r} holds no chorales")
    out[split] = chorales
  return out


def load_npz_chorales(path):
  """Reads a Jsb16thSeparated-style .npz safely (no arbitrary unpickling)."""
  if not os.path.exists(path):
    raise ChoraleDataError(f"{path}: no such file. {WHERE_TO_GET}")
  try:
    arrays = safe_npz.load_npz(path)
  except safe_npz.UnsafeNpzError as e:
    raise ChoraleDataError(str(e)) from e
  return validate_splits({k: list(v) for k, v in arrays.items()}, path)


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def download(data_dir, url=OFFICIAL_URL, sha256=OFFICIAL_SHA256, timeout_s=30):
  """Downloads the official file into data_dir; returns its path, or None when offline."""
  target = os.path.join(data_dir, FILENAME)
  partial = target + ".partial"
  try:
    os.makedirs(data_dir, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as f:
      f.write(response.read())
  except (urllib.error.URLError, OSError, TimeoutError) as e:
    logging.warning("Could not download %s (%s).", url, e)
    return None
  if sha256 and _sha256(partial) != sha256:
    os.remove(partial)
    logging.warning("Downloaded %s has the wrong SHA-256; discarded.", url)
    return None
  os.replace(partial, target)
  return target


def load_chorales(data_config):
  """Returns ({split: [(T, 4) float32 pitch arrays]}, the `provenance.DataSource` used)."""
  if data_config.path:
    splits = load_npz_chorales(data_config.path)
    source = f"config.data.path {data_config.path}"
    kind, path = "jsb_file", data_config.path
  else:
    data_dir = data_config.data_dir or default_data_dir()
    local = os.path.join(data_dir, FILENAME)
    if not os.path.exists(local) and data_config.download:
      logging.info("No %s in %s; downloading %s", FILENAME, data_dir, OFFICIAL_URL)
      download(data_dir)
    if os.path.exists(local):
      splits = load_npz_chorales(local)
      source = f"data directory {local}"
      kind, path = "jsb_file", local
    elif data_config.music21_fallback:
      from kanerva_music.data import bach_corpus  # pylint: disable=import-outside-toplevel
      splits = validate_splits(bach_corpus.load_cached(data_dir), "music21 corpus")
      source = "music21's bundled Bach chorales (offline fallback; not the paper's split)"
      kind, path = "music21_fallback", os.path.join(data_dir, bach_corpus.CACHE_NAME)
    else:
      raise ChoraleDataError(f"No chorale data found in {data_dir}. {WHERE_TO_GET}")
  logging.info("Chorales from %s: %s", source,
               ", ".join(f"{s} {len(splits[s])}" for s in SPLITS))
  digest = provenance.hash_arrays((f"{split}/{i}", chorale) for split in SPLITS
                                  for i, chorale in enumerate(splits[split]))
  return splits, provenance.DataSource(kind, os.path.abspath(path), digest, source)
