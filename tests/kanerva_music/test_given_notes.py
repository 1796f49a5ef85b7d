"""kanerva_music.tools.given_notes: a completion keeps every given note as given."""

import numpy as np
import pretty_midi
import pytest

from kanerva_music.tools import user_score
from kanerva_music.tools import given_notes
from tests.conftest import write_score

QUARTER_SECONDS = 0.5  # 120 qpm, not the grid writer's 100


def _chorale_with_repeated_strikes_and_a_chord(path):
  """Four voices of 32 quarters at 120 qpm, 480 ticks per quarter; the bass strikes one pitch
  at quarters 18, 19, 21 and 22 (held 19-21), the alto holds a chord at quarter 2, and the
  soprano has a note off the 16th-note grid."""
  midi = pretty_midi.PrettyMIDI(initial_tempo=120, resolution=480)
  for voice, base in enumerate((72, 67, 60, 48)):
    instrument = pretty_midi.Instrument(52, name=("Soprano", "Alto", "Tenor", "Bass")[voice])
    for i in range(32):
      if voice == 3 and 18 <= i < 24:
        continue
      instrument.notes.append(pretty_midi.Note(90 - voice, base + i % 3, i * QUARTER_SECONDS,
                                               (i + 1) * QUARTER_SECONDS))
    midi.instruments.append(instrument)
  for start, end in ((18, 19), (19, 21), (21, 22), (22, 24)):
    midi.instruments[3].notes.append(pretty_midi.Note(70, 50, start * QUARTER_SECONDS,
                                                      end * QUARTER_SECONDS))
  midi.instruments[1].notes.append(pretty_midi.Note(60, 64, 2 * QUARTER_SECONDS,
                                                    3 * QUARTER_SECONDS))
  soprano = midi.instruments[0].notes
  soprano[5] = pretty_midi.Note(90, 73, 5 * QUARTER_SECONDS + 0.01, 6 * QUARTER_SECONDS)
  midi.write(str(path))
  return midi


def _notes(midi, voice, keep):
  return sorted((round(n.start, 6), round(n.end, 6), n.pitch, n.velocity)
                for n in midi.instruments[voice].notes if keep(n))


def test_given_notes_tempo_strikes_and_chords_round_trip_exactly(tmp_path):
  source = tmp_path / "given.mid"
  _chorale_with_repeated_strikes_and_a_chord(source)
  original = pretty_midi.PrettyMIDI(str(source))  # as the file holds it, tick for tick
  grid, bars, given = user_score.read_score(str(source))
  assert given.tempos == ((0.0, 120.0),) and given.ticks_per_quarter == 480
  assert given.chords == ((1, 2.0, (64, 69)),)
  fill = user_score.fill_mask(bars, 32, fill_bars=["4"])  # quarters 12-16
  filled = np.where(fill[:, None], 60.0, grid)  # a stand-in for the model's read
  out = tmp_path / "out.mid"
  import note_seq  # pylint: disable=import-outside-toplevel
  note_seq.sequence_proto_to_midi_file(given_notes.completed_sequence(given, fill, filled),
                                       str(out))
  done = pretty_midi.PrettyMIDI(str(out))
  assert done.get_tempo_changes()[1].tolist() == [120.0]
  bar_4 = (12 * QUARTER_SECONDS, 16 * QUARTER_SECONDS)
  outside = lambda n: n.end <= bar_4[0] or n.start >= bar_4[1]
  written = [i for i in done.instruments if i.notes]
  for voice in range(4):
    assert _notes(done, voice, outside) == _notes(original, voice, outside), voice
    inside = _notes(done, voice, lambda n: not outside(n))
    assert inside == [(bar_4[0], bar_4[1], 60, given_notes.DEFAULT_VELOCITY)], voice
  assert len(written) == 4


def test_a_note_sounding_into_a_filled_bar_ends_where_the_filling_starts(tmp_path):
  given = given_notes.GivenScore(
      voices=([given_notes.Note(0.0, 6.0, 70, 64)], [], [], []), tempos=((0.0, 60.0),),
      ticks_per_quarter=480, chords=())
  fill = np.zeros(32, bool)
  fill[16:] = True  # quarters 4-8
  grid = np.full((32, 4), np.nan)
  sequence = given_notes.completed_sequence(given, fill, grid)
  assert [(n.start_time, n.end_time, n.pitch) for n in sequence.notes] == [(0.0, 4.0, 70)]
  assert given_notes.seconds_of(((0.0, 60.0), (4.0, 120.0)), 6.0) == 5.0


def test_a_per_voice_fill_keeps_every_note_of_the_given_voices(tmp_path):
  source = tmp_path / "given.mid"
  _chorale_with_repeated_strikes_and_a_chord(source)
  original = pretty_midi.PrettyMIDI(str(source))
  grid, _, given = user_score.read_score(str(source))
  fill = np.zeros(grid.shape, bool)
  fill[:, 1:3] = True  # alto and tenor at every step
  filled = np.where(fill, 60.0, grid)
  out = tmp_path / "out.mid"
  import note_seq  # pylint: disable=import-outside-toplevel
  note_seq.sequence_proto_to_midi_file(given_notes.completed_sequence(given, fill, filled),
                                       str(out))
  done = pretty_midi.PrettyMIDI(str(out))
  everything = lambda n: True
  for voice in (0, 3):
    assert _notes(done, voice, everything) == _notes(original, voice, everything), voice
  for voice in (1, 2):
    assert {n[2] for n in _notes(done, voice, everything)} == {60}, voice


def test_given_voices_alone_are_read_in_satb_order(tmp_path):
  source = tmp_path / "outer.musicxml"
  write_score(source, [("Melody", [72, 74]), ("Line", [48, 43])], "musicxml")
  grid, _, given = user_score.read_score(str(source), "SB")
  np.testing.assert_array_equal(grid[:, 0], [72] * 4 + [74] * 4)
  np.testing.assert_array_equal(grid[:, 3], [48] * 4 + [43] * 4)
  assert np.isnan(grid[:, 1:3]).all() and given.voices[1] == [] and given.voices[2] == []
  with pytest.raises(user_score.CompletionInputError, match="or 1 \\(the given voices S\\)"):
    user_score.read_score(str(source), "S")
  with pytest.raises(user_score.CompletionInputError, match="one to three of the letters"):
    user_score.parse_given_voices("SATB")
