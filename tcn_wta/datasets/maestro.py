"""MAESTRO piano performances (docs/data.md, MAESTRO).

`events`: Performance RNN's 388 event classes (note-on 128, note-off 128, time-shift 100 x 10 ms,
velocity 32) of `Performance(quantize_note_sequence_absolute(ns, 100), num_velocity_bins=32)`
after sustain is applied; stored as token ids and fed one-hot. `roll`: 88 keys x frames,
velocity / 127, after sustain.
"""

import os

import numpy as np

from music_runtime.files import dataset_cache
from music_runtime.files import midi_reader

NUM_EVENTS = 388
NUM_VELOCITY_BINS = 32
STEPS_PER_SECOND = 100
LOWEST_KEY = 21
NUM_KEYS = 88
LABELS = ("canonical_composer", "canonical_title", "year")
MAX_SHIFT_STEPS = 100  # note_seq's default: the longest time shift of one event (1 s here)
# First token id of each event type in PerformanceOneHotEncoding (note-on ids are the pitches).
_NOTE_OFF, _TIME_SHIFT, _VELOCITY = 128, 256, 256 + MAX_SHIFT_STEPS


def read_metadata(root):
  return dataset_cache.read_csv_rows(
      os.path.join(root, "maestro-v2.0.0.csv"),
      "no MAESTRO v2.0.0 here. Download maestro-v2.0.0-midi.zip from the Magenta datasets page "
      "(magenta.tensorflow.org/datasets/maestro), unzip it and pass its folder with "
      "--config.data.root=/path/to/maestro-v2.0.0")


def _sustained_sequence(path):
  from note_seq import sequences_lib  # pylint: disable=import-outside-toplevel
  return sequences_lib.apply_sustain_control_changes(midi_reader.note_sequence(path))


def sequence_to_events(sequence):
  """[events] int16 token ids of a (sustained) NoteSequence: note_seq's
  `Performance(quantize_note_sequence_absolute(sequence, 100), num_velocity_bins=32)` encoded by
  `PerformanceOneHotEncoding`, computed from the quantized notes directly (equal; building the
  Performance's event objects was a quarter of MAESTRO's conversion)."""
  from note_seq import performance_lib, sequences_lib  # pylint: disable=import-outside-toplevel
  quantized = sequences_lib.quantize_note_sequence_absolute(sequence, STEPS_PER_SECOND)
  notes = quantized.notes
  start = np.array([n.quantized_start_step for n in notes], np.int64)
  end = np.array([n.quantized_end_step for n in notes], np.int64)
  pitch = np.array([n.pitch for n in notes], np.int64)
  velocity = np.array([n.velocity for n in notes], np.int64)
  # Performance._from_quantized_sequence: notes sorted by (start time, pitch), stably; then their
  # onsets and offsets sorted as (step, note index, is offset) tuples.
  order = np.lexsort((pitch, np.array([n.start_time for n in notes])))
  start, end, pitch, velocity = start[order], end[order], pitch[order], velocity[order]
  index = np.arange(len(order))
  is_offset = np.repeat([0, 1], len(order))
  steps, index = np.concatenate([start, end]), np.concatenate([index, index])
  events = np.lexsort((is_offset, index, steps))
  bins = performance_lib.velocity_to_bin(velocity, NUM_VELOCITY_BINS).tolist()
  pitch = pitch.tolist()
  tokens, current_step, current_bin = [], 0, 0
  for step, note, offset in zip(steps[events].tolist(), index[events].tolist(),
                                is_offset[events].tolist()):
    if step > current_step:
      shift = step - current_step
      full = (shift - 1) // MAX_SHIFT_STEPS
      tokens.extend([_TIME_SHIFT + MAX_SHIFT_STEPS - 1] * full)
      tokens.append(_TIME_SHIFT + shift - full * MAX_SHIFT_STEPS - 1)
      current_step = step
    if offset:
      tokens.append(_NOTE_OFF + pitch[note])
    else:
      if bins[note] != current_bin:
        current_bin = bins[note]
        tokens.append(_VELOCITY + current_bin - 1)
      tokens.append(pitch[note])
  return np.array(tokens, np.int16)


def sequence_to_events_by_note_seq(sequence):
  """`sequence_to_events` the straightforward way, one note_seq Performance event at a time (the
  reference for tests and the benchmark)."""
  import note_seq  # pylint: disable=import-outside-toplevel
  from note_seq import performance_lib, sequences_lib  # pylint: disable=import-outside-toplevel
  quantized = sequences_lib.quantize_note_sequence_absolute(sequence, STEPS_PER_SECOND)
  performance = performance_lib.Performance(quantized, num_velocity_bins=NUM_VELOCITY_BINS)
  encoding = note_seq.PerformanceOneHotEncoding(num_velocity_bins=NUM_VELOCITY_BINS)
  return np.array([encoding.encode_event(e) for e in performance], np.int16)


def events_to_sequence(tokens):
  """Token ids -> NoteSequence (for listening and round-trip tests)."""
  import note_seq  # pylint: disable=import-outside-toplevel
  from note_seq import performance_lib  # pylint: disable=import-outside-toplevel
  encoding = note_seq.PerformanceOneHotEncoding(num_velocity_bins=NUM_VELOCITY_BINS)
  performance = performance_lib.Performance(steps_per_second=STEPS_PER_SECOND,
                                            num_velocity_bins=NUM_VELOCITY_BINS)
  for token in np.asarray(tokens):
    performance.append(encoding.decode_event(int(token)))
  return performance.to_sequence()


def time_shift_seconds(tokens):
  """Seconds spanned by token ids: the sum of their time shifts (ids 256-355 = 1-100 steps)."""
  tokens = np.asarray(tokens, np.int64)
  shifts = tokens[(tokens >= _TIME_SHIFT) & (tokens < _VELOCITY)] - _TIME_SHIFT + 1
  return np.sum(shifts) / STEPS_PER_SECOND


def sequence_to_roll(sequence, frames_per_second):
  """[frames, 88] velocity / 127 piano roll."""
  frames = int(np.ceil(sequence.total_time * frames_per_second)) + 1
  roll = np.zeros((frames, NUM_KEYS), np.float32)
  for note in sequence.notes:
    key = note.pitch - LOWEST_KEY
    if 0 <= key < NUM_KEYS:
      start = int(round(note.start_time * frames_per_second))
      stop = max(start + 1, int(round(note.end_time * frames_per_second)))
      roll[start:stop, key] = np.maximum(roll[start:stop, key], note.velocity / 127.0)
  return roll


def load_file(root, representation, frames_per_second, row):
  """A Piece for one metadata row (module level, so worker processes can run it)."""
  sequence = _sustained_sequence(os.path.join(root, row["midi_filename"]))
  if representation in ("events", "event_ids"):
    array = sequence_to_events(sequence)
  else:
    array = sequence_to_roll(sequence, frames_per_second)
  return dataset_cache.Piece(array, row["split"], {name: row[name] for name in LABELS})
