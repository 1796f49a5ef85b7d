"""The offline fallback: JSB-style (T, 4) chorales built from music21's bundled Bach chorales.

Each four-part chorale (soprano, alto, tenor, bass) is sampled on a 16th-note grid: the pitch
sounding at each step, NaN where the voice rests. Split by position in the Riemenschneider
order (every fifth chorale to valid, the next to test, the rest to train; about 60/20/20 like
the paper's 229/76/77). The result is cached with `dataset_cache` (pickle-free .npz) in the data dir.
"""

import os
import time

from absl import logging
import numpy as np

from music_runtime.files import dataset_cache

CACHE_NAME = "music21_bach_chorales_v2.npz"
STEPS_PER_QUARTER = 4
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")
SPLITS = ("train", "valid", "test")


def split_of(index):
  """Deterministic split of the index-th chorale in Riemenschneider order."""
  return {3: "valid", 4: "test"}.get(index % 5, "train")


def satb_parts(score):
  parts = list(score.parts)
  if len(parts) == 4:
    return parts
  chosen = []
  for prefix in VOICE_NAMES:
    named = [p for p in parts if (p.partName or "").lower().startswith(prefix)]
    if len(named) != 1:
      return None
    chosen.append(named[0])
  return chosen


def score_to_pitches(score, parts=None):
  """(T, 4) float32 MIDI pitches on the 16th-note grid, or None if not four voices. `parts`:
  the part of each voice (None: no notes), else `satb_parts(score)`."""
  parts = satb_parts(score) if parts is None else parts
  if parts is None:
    return None
  num_steps = int(round(float(score.highestTime) * STEPS_PER_QUARTER))
  grid = np.full((num_steps, 4), np.nan, np.float32)
  for voice, part in enumerate(parts):
    if part is None:
      continue
    for note in part.flatten().notes:
      start = int(round(float(note.offset) * STEPS_PER_QUARTER))
      stop = int(round(float(note.offset + note.quarterLength) * STEPS_PER_QUARTER))
      pitch = max(p.midi for p in note.pitches)  # a chord in one voice: keep its top note
      grid[start:stop, voice] = pitch
  return grid


def build(progress_every=50):
  """Parses music21's Bach chorales; returns {split: [(T, 4) arrays]}."""
  from music21 import corpus  # pylint: disable=import-outside-toplevel
  names = list(corpus.chorales.Iterator(numberingSystem="riemenschneider",
                                        returnType="filename"))
  splits = {split: [] for split in SPLITS}
  skipped, start = 0, time.time()
  kept = 0
  for i, name in enumerate(names):
    pitches = score_to_pitches(corpus.parse(name))
    if pitches is None or len(pitches) == 0:
      skipped += 1
    else:
      splits[split_of(kept)].append(pitches)
      kept += 1
    if (i + 1) % progress_every == 0 or i + 1 == len(names):
      elapsed = time.time() - start
      logging.info("music21 chorales: %d/%d parsed, %.1f/s, ETA %.0fs", i + 1, len(names),
                   (i + 1) / elapsed, elapsed / (i + 1) * (len(names) - i - 1))
  logging.info("music21 chorales: kept %d four-voice chorales, skipped %d", kept, skipped)
  return splits


def load_cached(data_dir):
  """Loads the cached conversion from data_dir, building it first if absent."""
  def pieces():
    splits = build()
    return [dataset_cache.Piece(c, split, {}) for split in SPLITS for c in splits[split]], 0

  cached = dataset_cache.cached(os.path.join(data_dir, CACHE_NAME), pieces)
  return {split: [cached[split].piece(i) for i in range(len(cached[split]))] for split in SPLITS}
