"""Chorale pitch grids -> NoteSequences, MIDI and WAV.

A grid is [steps, voices] MIDI pitches on a 16th-note grid (NaN = rest). As in the JSB data,
held and repeated notes are not distinguished: equal consecutive pitches become one note.
"""

import numpy as np

from music_runtime.files import audio

DEFAULT_QPM = 100.0
VOICE_PROGRAMS = (52, 52, 52, 52)  # General MIDI "Choir Aahs" for S, A, T, B
SAMPLE_RATE = audio.SAMPLE_RATE


def grid_to_sequence(grid, qpm=DEFAULT_QPM, steps_per_quarter=4, velocity=80):
  """A note_seq NoteSequence with one instrument per voice."""
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  seq.tempos.add(qpm=qpm)
  seq.ticks_per_quarter = note_seq.STANDARD_PPQ
  step_seconds = 60.0 / qpm / steps_per_quarter
  grid = np.asarray(grid, np.float64)
  for voice in range(grid.shape[1]):
    column = grid[:, voice]
    start = 0
    while start < len(column):
      stop = start + 1
      while stop < len(column) and (column[stop] == column[start] or (
          np.isnan(column[stop]) and np.isnan(column[start]))):
        stop += 1
      if not np.isnan(column[start]):
        seq.notes.add(pitch=int(round(column[start])), velocity=velocity, instrument=voice,
                      program=VOICE_PROGRAMS[voice % len(VOICE_PROGRAMS)],
                      start_time=start * step_seconds, end_time=stop * step_seconds)
      start = stop
  seq.total_time = len(grid) * step_seconds
  return seq


def write_midi(grid, path, **kwargs):
  import note_seq  # pylint: disable=import-outside-toplevel
  note_seq.sequence_proto_to_midi_file(grid_to_sequence(grid, **kwargs), path)


def synthesize(grid, sample_rate=SAMPLE_RATE, **kwargs):
  """(audio in [-1, 1], synthesiser) of a pitch grid; see `audio.synthesize_sequence`."""
  return audio.synthesize_sequence(grid_to_sequence(grid, **kwargs), sample_rate)


def write_wav(grid, path, sample_rate=SAMPLE_RATE, **kwargs):
  """Writes a pitch grid as 16-bit mono WAV; returns the synthesiser used."""
  return audio.write_sequence_wav(grid_to_sequence(grid, **kwargs), path, sample_rate)
