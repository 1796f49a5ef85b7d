"""The notes of a user's score as given, and a completion that keeps them.

A pitch grid (one pitch per voice per 16th note) is what the memory reads, but it cannot hold a
repeated strike of one pitch, an onset or duration off the grid, a chord inside one voice or the
tempo. The completion tool therefore writes its output from the score's own notes, and takes
from the grid only the notes of the filled steps.
"""

import bisect
from typing import List, NamedTuple, Sequence, Tuple

import numpy as np

from kanerva_music.data import bach_corpus
from kanerva_music.reporting import music_io

STEPS_PER_QUARTER = bach_corpus.STEPS_PER_QUARTER
MIDI_DEFAULT_QPM = 120.0  # the tempo of a MIDI file that sets none
DEFAULT_VELOCITY = 80


class Note(NamedTuple):
  """One given note, in quarter notes from the start of the score."""
  start: float
  end: float
  pitch: int
  velocity: int


class GivenScore(NamedTuple):
  voices: Tuple[List[Note], ...]     # soprano, alto, tenor, bass
  tempos: Tuple[Tuple[float, float], ...]  # (quarter offset, quarter notes per minute), sorted
  ticks_per_quarter: int
  chords: Tuple[Tuple[int, float, Tuple[int, ...]], ...]  # (voice, offset, pitches) in a voice


def parse(path: str):
  """The music21 score of `path`; MIDI is read unquantised, so onsets stay as played."""
  from music21 import converter  # pylint: disable=import-outside-toplevel
  if path.lower().endswith((".mid", ".midi")):
    return converter.parse(path, quantizePost=False)
  return converter.parse(path)


def _ticks_per_quarter(path):
  if path.lower().endswith((".mid", ".midi")):
    import mido  # pylint: disable=import-outside-toplevel
    return int(mido.MidiFile(path).ticks_per_beat)
  return 480


def given_score(score, parts, path: str) -> GivenScore:
  """The notes of the four voice `parts` of `score` (ties joined, chords split into their
  notes; a voice whose part is None has none), its tempo map and, for MIDI, its resolution."""
  voices, chords = [], []
  for voice, part in enumerate(parts):
    notes = []
    if part is None:
      voices.append(notes)
      continue
    for element in part.stripTies().flatten().notes:
      start = float(element.offset)
      end = start + float(element.quarterLength)
      members = list(element.notes) if element.isChord else [element]
      if len(members) > 1:
        chords.append((voice, start, tuple(sorted(m.pitch.midi for m in members))))
      for member in members:
        velocity = member.volume.velocity
        if velocity is None:
          velocity = element.volume.velocity
        notes.append(Note(start, end, int(member.pitch.midi),
                          int(velocity) if velocity is not None else DEFAULT_VELOCITY))
    voices.append(sorted(notes))
  marks = {}
  for mark in score.flatten().getElementsByClass("MetronomeMark"):
    qpm = mark.getQuarterBPM()
    if qpm:
      marks.setdefault(float(mark.offset), float(qpm))
  tempos = tuple(sorted(marks.items())) or ((0.0, MIDI_DEFAULT_QPM),)
  if tempos[0][0] > 0:
    tempos = ((0.0, MIDI_DEFAULT_QPM),) + tempos
  return GivenScore(tuple(voices), tempos, _ticks_per_quarter(path), tuple(chords))


def seconds_of(tempos: Sequence[Tuple[float, float]], quarters: float) -> float:
  """Seconds at `quarters` through the piecewise-constant tempo map."""
  offsets = [t for t, _ in tempos]
  i = bisect.bisect_right(offsets, quarters) - 1
  seconds = 0.0
  for j in range(i):
    seconds += (tempos[j + 1][0] - tempos[j][0]) * 60.0 / tempos[j][1]
  return seconds + (quarters - tempos[i][0]) * 60.0 / tempos[i][1]


def filled_runs(filled: np.ndarray) -> List[Tuple[int, int]]:
  """[(first, stop)] step ranges of the runs of True in `filled` [steps]."""
  edges = np.diff(np.concatenate([[0], np.asarray(filled, np.int8), [0]]))
  return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def onset_step(note: Note) -> int:
  """The grid step a note's onset belongs to: rounded, as the grid is built
  (`bach_corpus.score_to_pitches`), so a note played a little early still starts its step."""
  return int(round(note.start * STEPS_PER_QUARTER))


def kept_parts(note: Note, filled: np.ndarray) -> List[Tuple[float, float]]:
  """The (start, end) quarter-note spans of a given note that the completion keeps exactly:
  all of it but the filled steps from its onset step on. A note whose onset step is filled is
  replaced up to the end of that filled run; one sounding into a later filled run stops where it
  starts and, sounding past it, is struck again where the run ends (a note tied into a filled
  bar, a long MIDI note). Filled steps before its onset step never cut it (an early onset)."""
  onset, start, parts = onset_step(note), note.start, []
  for first, stop in filled_runs(filled):
    if stop <= onset:
      continue
    if first <= onset:
      start = max(start, stop / STEPS_PER_QUARTER)
      continue
    cut = first / STEPS_PER_QUARTER
    if cut >= note.end:
      break
    if start < cut:
      parts.append((start, cut))
    start = max(start, stop / STEPS_PER_QUARTER)
  if start < note.end:
    parts.append((start, note.end))
  return parts


class GivenNoteLostError(ValueError):
  """A written completion does not hold a given note as given."""


def check_kept(given: GivenScore, fill: np.ndarray, midi_path: str) -> int:
  """Reads the written MIDI back and checks that every kept part of every given note
  (`kept_parts`) is in it with its pitch, start and end (to a tick); returns how many parts.
  Raises GivenNoteLostError naming the first one that is not."""
  import note_seq  # pylint: disable=import-outside-toplevel
  written = note_seq.midi_file_to_note_sequence(midi_path)
  by_pitch = {}
  for n in written.notes:
    by_pitch.setdefault(n.pitch, []).append((n.start_time, n.end_time))
  fill = np.asarray(fill, bool)
  fill = np.repeat(fill[:, None], len(given.voices), axis=1) if fill.ndim == 1 else fill
  tick = 60.0 / max(q for _, q in given.tempos) / given.ticks_per_quarter
  count = 0
  for voice, notes in enumerate(given.voices):
    for note in notes:
      for start, end in kept_parts(note, fill[:, voice]):
        s, e = seconds_of(given.tempos, start), seconds_of(given.tempos, end)
        if not any(abs(a - s) <= tick and abs(b - e) <= tick
                   for a, b in by_pitch.get(note.pitch, ())):
          raise GivenNoteLostError(
              f"{midi_path}: the given {bach_corpus.VOICE_NAMES[voice]} note MIDI {note.pitch} "
              f"at quarter {start:g}-{end:g} is not in the written file")
        count += 1
  return count


def completed_sequence(given: GivenScore, fill: np.ndarray, grid: np.ndarray):
  """A NoteSequence of the given notes outside the filled steps `fill` ([steps]: every voice;
  [steps, 4]: per voice) and the grid's notes [steps, 4] inside them.

  A given note keeps every part outside the filled steps (`kept_parts`). Inside a filled run of steps, equal consecutive grid pitches are
  one note (the grid cannot tell a held note from a repeated one)."""
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  seq.ticks_per_quarter = given.ticks_per_quarter
  for offset, qpm in given.tempos:
    seq.tempos.add(time=seconds_of(given.tempos, offset), qpm=qpm)
  fill = np.asarray(fill, bool)
  fill = np.repeat(fill[:, None], len(given.voices), axis=1) if fill.ndim == 1 else fill

  def add(voice, start_q, end_q, pitch, velocity):
    seq.notes.add(pitch=int(pitch), velocity=int(velocity), instrument=voice,
                  program=music_io.VOICE_PROGRAMS[voice % len(music_io.VOICE_PROGRAMS)],
                  start_time=seconds_of(given.tempos, start_q),
                  end_time=seconds_of(given.tempos, end_q))

  for voice, notes in enumerate(given.voices):
    filled = fill[:, voice]
    for note in notes:
      for start, end in kept_parts(note, filled):
        add(voice, start, end, note.pitch, note.velocity)
    column = np.asarray(grid, np.float64)[:, voice]
    step = 0
    while step < len(filled):
      if not filled[step] or np.isnan(column[step]):
        step += 1
        continue
      stop = step + 1
      while stop < len(filled) and filled[stop] and column[stop] == column[step]:
        stop += 1
      add(voice, step / STEPS_PER_QUARTER, stop / STEPS_PER_QUARTER, column[step],
          DEFAULT_VELOCITY)
      step = stop
  seq.total_time = max((n.end_time for n in seq.notes), default=0.0)
  return seq
