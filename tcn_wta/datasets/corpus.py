"""music21's bundled corpus as labelled piano rolls (docs/data.md, music21 corpus).

Each piece becomes an [steps, 88] binary roll on a 16th-note grid, labelled with composer, key
signature (sharps; negative = flats), mode and time signature. Deterministic split by position
in each composer's sorted file list: every tenth piece to validation, the next to test.
"""

import numpy as np

STEPS_PER_QUARTER = 4
LOWEST_KEY = 21
NUM_KEYS = 88
LABELS = ("composer", "key_signature", "mode", "time_signature")


def split_of(index):
  return {8: "validation", 9: "test"}.get(index % 10, "train")


def corpus_files(composers, max_per_composer):
  """[(composer, path, split)] in a fixed order."""
  from music21 import corpus  # pylint: disable=import-outside-toplevel
  items = []
  for composer in composers:
    paths = sorted(str(p) for p in corpus.getComposer(composer)
                   if str(p).endswith((".mxl", ".xml", ".musicxml", ".krn")))
    items += [(composer, path, split_of(i)) for i, path in enumerate(paths[:max_per_composer])]
  return items


def score_labels(score):
  from music21 import key, meter  # pylint: disable=import-outside-toplevel
  flat = score.flatten()
  signatures = list(flat.getElementsByClass(key.KeySignature))
  first = signatures[0] if signatures else None
  if isinstance(first, key.Key):
    mode = first.mode
  else:
    mode = score.analyze("key").mode
  meters = list(flat.getElementsByClass(meter.TimeSignature))
  return {"key_signature": str(first.sharps if first is not None else 0), "mode": mode,
          "time_signature": meters[0].ratioString if meters else "unknown"}


def score_to_roll(score):
  flat = score.flatten()
  steps = int(round(float(flat.highestTime) * STEPS_PER_QUARTER)) + 1
  roll = np.zeros((steps, NUM_KEYS), np.float32)
  for element in flat.notes:
    start = int(round(float(element.offset) * STEPS_PER_QUARTER))
    stop = max(start + 1, int(round(float(element.offset + element.quarterLength)
                                    * STEPS_PER_QUARTER)))
    for p in element.pitches:
      if 0 <= p.midi - LOWEST_KEY < NUM_KEYS:
        roll[start:stop, p.midi - LOWEST_KEY] = 1.0
  return roll


def load_item(item):
  """A Piece for (composer, path, split); module level so worker processes can run it."""
  from music21 import corpus, stream  # pylint: disable=import-outside-toplevel
  from music_runtime.files import dataset_cache  # pylint: disable=import-outside-toplevel
  composer, path, split = item
  score = corpus.parse(path)
  if isinstance(score, stream.Opus):
    score = score.scores[0]
  return dataset_cache.Piece(score_to_roll(score), split,
                             {"composer": composer, **score_labels(score)})
