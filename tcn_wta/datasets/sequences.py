"""Model inputs and outputs -> NoteSequences, for MIDI, WAV and MIDI-size figures."""

import numpy as np

from tcn_wta.datasets import corpus

DEFAULT_QPM = 120.0


def roll_to_sequence(roll, step_seconds, threshold=0.5, lowest_key=21):
  """[steps, keys] roll -> NoteSequence: a note per run of active steps of a key.

  Velocity is the run's first value x 127 for velocity rolls; binary rolls play at 80.
  """
  import note_seq  # pylint: disable=import-outside-toplevel
  roll = np.asarray(roll, np.float32)
  active = roll > threshold
  binary = np.all((roll == 0) | (roll == 1))
  seq = note_seq.NoteSequence()
  seq.tempos.add(qpm=60.0 / step_seconds / 4)
  seq.ticks_per_quarter = note_seq.STANDARD_PPQ
  padded = np.pad(active, ((1, 1), (0, 0)))
  for key in range(roll.shape[1]):
    edges = np.diff(padded[:, key].astype(np.int8))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
      velocity = 80 if binary else int(np.clip(round(float(roll[start, key]) * 127), 1, 127))
      seq.notes.add(pitch=lowest_key + key, velocity=velocity, start_time=start * step_seconds,
                    end_time=stop * step_seconds)
  seq.total_time = len(roll) * step_seconds
  return seq


def step_seconds(data_config, qpm=DEFAULT_QPM):
  """Seconds per input step of a roll (16th notes at `qpm`, or 1 / frames_per_second)."""
  if data_config.dataset == "maestro":
    return 1.0 / data_config.frames_per_second
  return 60.0 / qpm / corpus.STEPS_PER_QUARTER
