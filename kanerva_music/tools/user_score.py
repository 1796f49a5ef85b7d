"""The user's score for the completion tool: its four voices on the 16th-note grid, its printed
bars, and which steps a completion fills and from which windows (`plan_reads`)."""

import os
from typing import NamedTuple

import numpy as np

from kanerva_music.data import bach_corpus
from kanerva_music.data import episodes
from kanerva_music.tools import given_notes

STEPS_PER_QUARTER = bach_corpus.STEPS_PER_QUARTER


class CompletionInputError(ValueError):
  """The input file cannot be completed by this model."""


class Bars(NamedTuple):
  """Where the printed bars of a piece lie on its 16th-note grid: each bar's first step and its
  printed number (`starts`[0] == 0, both increasing), as the score's measures and time
  signatures say."""
  num_steps: int
  starts: tuple
  numbers: tuple
  pickup_steps: int = 0  # steps of an anacrusis before the first full bar's downbeat

  @classmethod
  def regular(cls, num_steps: int, bar_steps: int = 16, pickup_steps: int = 0,
              first_number: int | None = None) -> "Bars":
    """Bars of `bar_steps` (4/4: 16) after an optional pickup (bar 0), numbered from 1 (or from
    `first_number`)."""
    starts = ([0] if pickup_steps else []) + list(range(pickup_steps, max(num_steps, 1),
                                                        bar_steps))
    first = (0 if pickup_steps else 1) if first_number is None else first_number
    return cls(num_steps, tuple(starts), tuple(range(first, first + len(starts))), pickup_steps)

  @property
  def first(self) -> int:
    return self.numbers[0]

  @property
  def last(self) -> int:
    return self.numbers[-1]

  def bar_of(self, step):
    """Printed bar number of each step (array or int)."""
    index = np.searchsorted(np.asarray(self.starts), np.asarray(step), side="right") - 1
    return np.asarray(self.numbers)[np.maximum(index, 0)]

  def span(self, bar):
    """[start, stop) steps of a printed bar."""
    index = self.numbers.index(bar)
    stop = self.starts[index + 1] if index + 1 < len(self.starts) else self.num_steps
    return self.starts[index], stop

  def lines(self):
    """Steps where a bar starts."""
    return list(self.starts)

  def describe(self, start, stop):
    """'bars a-b' (or 'bar a') covering steps [start, stop) clipped to the piece."""
    first = int(self.bar_of(max(start, 0)))
    last = int(self.bar_of(min(stop, self.num_steps) - 1))
    return f"bar {first}" if first == last else f"bars {first}-{last}"


def _bars_of_score(score, num_steps):
  """The printed bars of the score's first part: its measures as the score numbers them, their
  lengths from its time signatures (MusicXML's measures; music21 builds a MIDI file's from its
  time-signature events, numbered from 1 at its first beat). A first measure numbered 0 or
  shorter than its time signature's bar is a pickup. Without measures: 4/4 from step 0."""
  part = score.parts[0]
  measures = [m for m in part.getElementsByClass("Measure")
              if int(round(float(m.offset) * STEPS_PER_QUARTER)) < max(num_steps, 1)]
  if not measures:
    return Bars.regular(num_steps)
  starts = [int(round(float(m.offset) * STEPS_PER_QUARTER)) for m in measures]
  numbers = [int(m.number) for m in measures]
  if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
    return Bars.regular(num_steps)
  if any(b <= a for a, b in zip(numbers, numbers[1:])):
    # Repeated or falling numbers (split bars, repeats' endings): count on from the first.
    numbers = list(range(numbers[0], numbers[0] + len(numbers)))
  pickup = 0
  if len(measures) > 1:
    first = measures[0]
    bar = first.barDuration.quarterLength if first.barDuration is not None else 4.0
    if first.number == 0 or first.paddingLeft > 0 or first.duration.quarterLength < bar:
      pickup = starts[1]
  return Bars(num_steps, tuple(starts), tuple(numbers), pickup)


def read_voices(path):
  """([steps, 4] MIDI pitches, NaN = rest; Bars) of a four-voice file, checked against the
  model's range."""
  grid, bars, _, _ = read_score(path)
  return grid, bars


VOICE_LETTERS = "SATB"


# Part names that say which voice a part is, in the usual languages and abbreviations (compared
# lower-case, on the name's first word without dots or digits: "Soprano 1", "S.", "Basso").
VOICE_ALIASES = (
    ("soprano", "sopran", "sopr", "sop", "s", "cantus", "canto", "discantus", "dessus",
     "superius", "treble"),
    ("alto", "alt", "a", "contralto", "altus", "haute-contre"),
    ("tenor", "tenore", "ténor", "ten", "t", "taille"),
    ("bass", "basso", "bajo", "basse", "bassus", "bas", "b"))


def voice_of_name(name) -> int:
  """0..3 for a part name that names soprano, alto, tenor or bass (VOICE_ALIASES), else -1."""
  words = "".join(c if c.isalpha() or c == "-" else " " for c in (name or "").lower()).split()
  if not words:
    return -1
  return next((v for v, aliases in enumerate(VOICE_ALIASES) if words[0] in aliases), -1)


def _is_drum_part(part) -> bool:
  from music21 import instrument  # pylint: disable=import-outside-toplevel
  for inst in part.recurse().getElementsByClass(instrument.Instrument):
    if isinstance(inst, instrument.UnpitchedPercussion) or inst.midiChannel == 9:
      return True
  return bool(part.recurse().getElementsByClass("Unpitched"))


def voice_parts(score, path, given_voices=None):
  """(the part of each of the four voices, None for a voice the score does not hold; a line
  saying how the parts were matched). Four parts, by their names where those name the four
  voices (`voice_of_name`), else in the file's order (the line says so); with `given_voices`
  (letters of SATB) exactly that many parts, taken the same way. Any other number of parts, or
  a drum track, is refused."""
  parts = list(getattr(score, "parts", []))
  drums = [i + 1 for i, part in enumerate(parts) if _is_drum_part(part)]
  if drums:
    raise CompletionInputError(f"{path}: part {drums[0]} is a drum track; expected four "
                               "voices (soprano, alto, tenor, bass) with pitches")
  wanted = list(range(4))
  if given_voices and len(parts) == len(given_voices) < 4:
    wanted = [v for v, letter in enumerate(VOICE_LETTERS) if letter in given_voices]
  if len(parts) != len(wanted):
    also = (f", or {len(given_voices)} (the given voices {given_voices})"
            if given_voices and len(given_voices) < 4 else "")
    raise CompletionInputError(f"{path}: has {len(parts)} parts; expected four voices (soprano, "
                               f"alto, tenor, bass), one part each{also}")
  named = [voice_of_name(part.partName) for part in parts]
  voices = [None] * 4
  if sorted(named) == wanted:
    for part, voice in zip(parts, named):
      voices[voice] = part
    return voices, "Parts matched to voices by their names"
  for part, voice in zip(parts, wanted):
    voices[voice] = part
  names = ", ".join(repr(part.partName or "") for part in parts)
  order = ", ".join(VOICE_LETTERS[v] for v in wanted)
  return voices, (f"Parts taken in the file's order as {order}: their names ({names}) do not "
                  "name the voices")


def read_score(path, given_voices=None):
  """([steps, 4] MIDI pitches, NaN = rest; Bars; the score's notes as given,
  `given_notes.GivenScore`) of a four-voice file (or of the `given_voices` alone, see
  `voice_parts`), checked against the model's range, and how its parts were matched."""
  if not os.path.exists(path):
    raise CompletionInputError(f"{path}: no such file")
  try:
    score = given_notes.parse(path)
  except Exception as e:  # pylint: disable=broad-except  # music21 raises many types
    raise CompletionInputError(f"{path}: music21 cannot read it ({e})") from e
  parts, matched = voice_parts(score, path, given_voices)
  grid = bach_corpus.score_to_pitches(score, parts)
  if not np.isfinite(grid).any():
    raise CompletionInputError(f"{path}: has no notes")
  bars = _bars_of_score(score, len(grid))
  bad = np.argwhere(np.isfinite(grid) & ((grid < episodes.PITCH_LOW) |
                                         (grid > episodes.PITCH_HIGH)))
  if len(bad):
    from music21 import pitch as m21pitch  # pylint: disable=import-outside-toplevel
    notes = sorted({(int(v), int(bars.bar_of(s)), m21pitch.Pitch(midi=int(grid[s, v])))
                    for s, v in bad}, key=lambda n: (n[1], n[0]))
    listed = ", ".join(f"{bach_corpus.VOICE_NAMES[v]} bar {b} {p.nameWithOctave}"
                       for v, b, p in notes[:12])
    raise CompletionInputError(
        f"{path}: {len(notes)} note(s) outside the model's range MIDI {episodes.PITCH_LOW}-"
        f"{episodes.PITCH_HIGH} (C2-A5): {listed}{' ...' if len(notes) > 12 else ''}")
  return grid, bars, given_notes.given_score(score, parts, path), matched


def _parse_fill_steps(fill_steps, window_steps):
  if fill_steps is None:
    return window_steps // 2, window_steps - 1
  first, _, last = fill_steps.partition("-")
  try:
    first, last = int(first), int(last or first)
  except ValueError:
    first, last = -1, -1
  if not 0 <= first <= last < window_steps:
    raise CompletionInputError(f"--fill_steps={fill_steps}: expected a-b within 0-"
                               f"{window_steps - 1}")
  return first, last


def _parse_fill_bars(fill_bars, bars):
  try:
    chosen = {int(b) for b in fill_bars}
    if not chosen:
      raise ValueError("no bar")
  except ValueError as e:
    raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: expected bar numbers "
                               f"{bars.first}-{bars.last}, e.g. --fill_bars=4,6") from e
  outside = sorted(chosen - set(bars.numbers))
  if outside:
    raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: bar(s) {outside} outside "
                               f"the piece's bars {bars.first}-{bars.last}")
  return sorted(chosen)


def plan_reads(bars, window_steps, given, fill_steps=None, fill_bars=None):
  """(fill [num_steps] bool, reads [(window_start, steps_written [num_steps] bool)]).

  `given` [num_steps] counts the given notes per step. Window starts may lie before step 0 or
  run past the end; those steps are read as unobserved."""
  step = np.arange(bars.num_steps)
  if fill_bars is not None:
    chosen_bars = _parse_fill_bars(fill_bars, bars)
    fill = np.isin(bars.bar_of(step), chosen_bars)
    by_start = {}
    for bar in chosen_bars:
      start, stop = bars.span(bar)
      # The bar last in its window (context before it) or first (context after), whichever
      # window holds more given notes; before wins a tie.
      options = (stop - window_steps, start)
      counts = [given[max(s, 0):s + window_steps][~fill[max(s, 0):s + window_steps]].sum()
                for s in options]
      chosen = options[int(np.argmax(counts))]
      by_start.setdefault(chosen, np.zeros(bars.num_steps, bool))[start:stop] = True
    return fill, sorted(by_start.items())
  first, last = _parse_fill_steps(fill_steps, window_steps)
  # Windows tile the piece from bar 1's downbeat; a pickup before it is kept as given.
  origin = bars.pickup_steps
  within = (step - origin) % window_steps
  fill = (within >= first) & (within <= last) & (step >= origin)
  reads = []
  for start in range(origin, bars.num_steps, window_steps):
    written = fill & (step >= start) & (step < start + window_steps)
    if written.any():
      reads.append((start, written))
  return fill, reads


def parse_given_voices(given_voices):
  """[4] bool: the voices named by `given_voices`, letters of SATB (e.g. "S", "SB")."""
  letters = (given_voices or "").upper()
  if not letters or set(letters) - set(VOICE_LETTERS) or len(set(letters)) == 4:
    raise CompletionInputError(f"--given_voices={given_voices}: expected one to three of the "
                               "letters S, A, T, B (e.g. S to harmonise a melody, SB)")
  return np.array([v in letters for v in VOICE_LETTERS])


def plan_harmonisation(num_steps, window_steps):
  """(fill [num_steps] bool, reads) of filling voices at every step: windows tile the piece from
  its first step (a pickup included)."""
  step = np.arange(num_steps)
  reads = [(start, (step >= start) & (step < start + window_steps))
           for start in range(0, num_steps, window_steps)]
  return np.ones(num_steps, bool), reads


def fill_mask(bars, window_steps, fill_steps=None, fill_bars=None):
  """[num_steps] bool, True where a step is to be filled."""
  return plan_reads(bars, window_steps, np.ones(bars.num_steps), fill_steps, fill_bars)[0]
