"""kanerva_music.tools.given_notes: a completion keeps every given note as given."""

import numpy as np
import pretty_midi
import pytest

from kanerva_music.tools import given_notes
from kanerva_music.tools import user_score
from tests.conftest import four_voices
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
  grid, bars, given, _ = user_score.read_score(str(source))
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
  grid, _, given, _ = user_score.read_score(str(source))
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
  grid, _, given, _ = user_score.read_score(str(source), "SB")
  np.testing.assert_array_equal(grid[:, 0], [72] * 4 + [74] * 4)
  np.testing.assert_array_equal(grid[:, 3], [48] * 4 + [43] * 4)
  assert np.isnan(grid[:, 1:3]).all() and given.voices[1] == [] and given.voices[2] == []
  with pytest.raises(user_score.CompletionInputError, match="or 1 \\(the given voices S\\)"):
    user_score.read_score(str(source), "S")
  with pytest.raises(user_score.CompletionInputError, match="one to three of the letters"):
    user_score.parse_given_voices("SATB")


def named_score(path, parts, fmt):
  """write_score, but MIDI through mido so that each track carries its name (music21's MIDI
  writer leaves track names empty; players and DAWs write them)."""
  if fmt != "midi":
    return write_score(path, parts, fmt)
  import mido  # pylint: disable=import-outside-toplevel
  song = mido.MidiFile(ticks_per_beat=480)
  for name, pitches in parts:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    for pitch in pitches:
      track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
      track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    song.tracks.append(track)
  song.save(str(path))


@pytest.mark.parametrize("fmt", ["midi", "musicxml"])
def test_parts_are_matched_to_voices_by_their_names(tmp_path, fmt):
  voices = four_voices(num_quarters=8)
  source = tmp_path / f"reversed.{'mid' if fmt == 'midi' else 'musicxml'}"
  named_score(source, [("Bass", voices[3][1]), ("Tenor", voices[2][1]),
                       ("Alto", voices[1][1]), ("Soprano", voices[0][1])], fmt)
  grid, _, _, matched = user_score.read_score(str(source))
  np.testing.assert_array_equal(grid[::4, 0], voices[0][1])  # the soprano, though last
  np.testing.assert_array_equal(grid[::4, 3], voices[3][1])
  assert matched == "Parts matched to voices by their names"
  unnamed = tmp_path / f"unnamed.{'mid' if fmt == 'midi' else 'musicxml'}"
  named_score(unnamed, [(f"Line {i}", p) for i, (_, p) in enumerate(voices)], fmt)
  grid, _, _, matched = user_score.read_score(str(unnamed))
  np.testing.assert_array_equal(grid[::4, 0], voices[0][1])
  assert matched.startswith("Parts taken in the file's order as S, A, T, B")


@pytest.mark.parametrize("name,voice", [("Soprano 1", 0), ("S.", 0), ("Sopran", 0),
                                        ("Contralto", 1), ("Alt", 1), ("Ténor", 2),
                                        ("Basso", 3), ("Bajo", 3), ("B", 3), ("Piano", -1),
                                        ("", -1), (None, -1)])
def test_voice_names_in_the_usual_languages_and_abbreviations(name, voice):
  assert user_score.voice_of_name(name) == voice


@pytest.mark.parametrize("fmt", ["midi", "musicxml"])
def test_a_five_part_score_is_refused_not_cut_to_four(tmp_path, fmt):
  voices = four_voices(num_quarters=4)
  source = tmp_path / f"five.{'mid' if fmt == 'midi' else 'musicxml'}"
  named_score(source, voices + [("Continuo", [40, 41, 43, 45])], fmt)
  with pytest.raises(user_score.CompletionInputError, match="has 5 parts; expected four"):
    user_score.read_score(str(source))


def test_a_drum_track_is_refused(tmp_path):
  import mido  # pylint: disable=import-outside-toplevel
  source = tmp_path / "drums.mid"
  song = mido.MidiFile(ticks_per_beat=480)
  for channel in (9, 9, 9, 9):
    track = mido.MidiTrack()
    for pitch in (36, 38, 42, 46):
      track.append(mido.Message("note_on", channel=channel, note=pitch, velocity=90, time=0))
      track.append(mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=480))
    song.tracks.append(track)
  song.save(str(source))
  with pytest.raises(user_score.CompletionInputError, match="drum track"):
    user_score.read_score(str(source))


def _kept(given, fill, tmp_path):
  """(the completion's notes as (start, end, pitch) in seconds, rounded; the parts compared)
  after writing it and reading it back."""
  import note_seq  # pylint: disable=import-outside-toplevel
  per_voice = np.asarray(fill)[:, None] if np.ndim(fill) == 1 else np.asarray(fill)
  grid = np.where(np.broadcast_to(per_voice, (len(per_voice), 4)), 60.0, np.nan)
  path = str(tmp_path / "out.mid")
  note_seq.sequence_proto_to_midi_file(given_notes.completed_sequence(given, fill, grid), path)
  notes = sorted((round(n.start, 4), round(n.end, 4), n.pitch)
                 for i in pretty_midi.PrettyMIDI(path).instruments for n in i.notes)
  return notes, given_notes.check_kept(given, fill, path)


def test_a_note_tied_out_of_a_filled_bar_keeps_its_part_in_the_next_bar(tmp_path):
  from music21 import note, stream, tie  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitch in (("Soprano", 72), ("Alto", 64), ("Tenor", 55), ("Bass", 48)):
    part = stream.Part()
    part.partName = name
    first, second = note.Note(pitch, quarterLength=3), note.Note(pitch, quarterLength=2)
    first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
    # bar 1: a quarter, then a note tied over the bar line into bar 2; bar 2 ends on a half
    for element in (note.Note(pitch + 2, quarterLength=1), first, second,
                    note.Note(pitch - 1, quarterLength=2)):
      part.append(element)
    score.insert(0, part)
  source = tmp_path / "tied.musicxml"
  score.write("musicxml", fp=str(source))
  grid, bars, given, _ = user_score.read_score(str(source))
  fill = user_score.fill_mask(bars, 32, fill_bars=["1"])  # quarters 0-4
  notes, compared = _kept(given, fill, tmp_path)
  half = 0.5  # seconds per quarter at 120 qpm
  for pitch in (72, 64, 55, 48):  # the tied note's part in bar 2 (quarters 4-6) survives
    assert (4 * half, 6 * half, pitch) in notes and (6 * half, 8 * half, pitch - 1) in notes
  assert compared == 8


def test_an_early_midi_onset_keeps_its_note_and_a_long_note_its_tail(tmp_path):
  early = given_notes.Note(3.975, 6.0, 70, 64)  # 2.5% of a beat before bar 2's downbeat
  long = given_notes.Note(2.0, 7.0, 50, 64)     # from a filled bar 1 through bar 2
  through = given_notes.Note(1.0, 12.0, 40, 64)  # through the filled bar 2, out into bar 3
  given = given_notes.GivenScore(voices=([early], [long], [], [through]),
                                 tempos=((0.0, 60.0),), ticks_per_quarter=480, chords=())
  fill = np.zeros((48, 4), bool)
  fill[:16, :3] = True   # bar 1 of soprano, alto, tenor
  fill[16:32, 3] = True  # bar 2 of the bass
  notes, compared = _kept(given, fill, tmp_path)
  assert (3.975, 6.0, 70) in notes       # kept whole, tick for tick, early start and all
  assert (4.0, 7.0, 50) in notes         # the part after the filled bar
  assert (1.0, 4.0, 40) in notes and (8.0, 12.0, 40) in notes  # cut by the filled bar only
  assert compared == 4


def test_a_written_file_missing_a_given_note_is_named(tmp_path):
  import note_seq  # pylint: disable=import-outside-toplevel
  given = given_notes.GivenScore(voices=([given_notes.Note(0.0, 1.0, 70, 64)], [], [], []),
                                 tempos=((0.0, 60.0),), ticks_per_quarter=480, chords=())
  sequence = given_notes.completed_sequence(given, np.zeros(8, bool), np.full((8, 4), np.nan))
  sequence.notes[0].pitch = 71
  path = str(tmp_path / "wrong.mid")
  note_seq.sequence_proto_to_midi_file(sequence, path)
  with pytest.raises(given_notes.GivenNoteLostError, match="soprano note MIDI 70 at quarter 0-1"):
    given_notes.check_kept(given, np.zeros(8, bool), path)
