"""music_runtime.files.midi_reader against mido's own reader (and note_seq on real files)."""

import glob
import os
import struct

import mido
import pytest

from music_runtime.files import midi_reader

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")


def _vlq(value):
  out = [value & 0x7F]
  value >>= 7
  while value:
    out.insert(0, (value & 0x7F) | 0x80)
    value >>= 7
  return bytes(out)


def _file(*tracks, file_type=1, ticks_per_beat=384):
  header = b"MThd" + struct.pack(">Lhhh", 6, file_type, len(tracks), ticks_per_beat)
  return header + b"".join(b"MTrk" + struct.pack(">L", len(t)) + t for t in tracks)


# Every kind of event a file holds: meta messages (tempo, time signature, a latin-1 track name,
# an unknown type), sysex, and channel messages with and without running status.
TRACK = b"".join([
    _vlq(0), b"\xff\x51\x03\x07\xa1\x20",                  # set_tempo
    _vlq(0), b"\xff\x58\x04\x03\x02\x18\x08",              # time_signature 3/4
    _vlq(0), b"\xff\x03\x05Pi\xe9ce",                      # track_name, latin-1
    _vlq(5), b"\xff\x7e\x02\x01\x02",                      # an unknown meta type
    _vlq(0), b"\xf0\x04\x41\x10\x42\xf7",                  # sysex
    _vlq(0), b"\xc0\x05",                                  # program_change
    _vlq(200), b"\x90\x3c\x64", _vlq(0), b"\x40\x50",      # note_on, then running status
    _vlq(20000), b"\x3c\x00", _vlq(3), b"\x80\x40\x10",    # note_on velocity 0, note_off
    _vlq(1), b"\xb0\x40\x7f", _vlq(1), b"\x40\x00",        # sustain on / off (running)
    _vlq(2), b"\xe3\x00\x40", _vlq(2), b"\x7f\x7f",        # pitchwheel 0, then max
    _vlq(1), b"\xd1\x22", _vlq(1), b"\xa2\x3c\x11",        # aftertouch, polytouch
    _vlq(0), b"\xff\x2f\x00",                              # end_of_track
])


def _assert_same(ours, theirs):
  assert (ours.type, ours.ticks_per_beat, len(ours.tracks)) == (
      theirs.type, theirs.ticks_per_beat, len(theirs.tracks))
  for our_track, their_track in zip(ours.tracks, theirs.tracks):
    assert len(our_track) == len(their_track)
    for a, b in zip(our_track, their_track):
      assert type(a) is type(b)
      assert vars(a) == vars(b)
      assert list(vars(a)) == list(vars(b))  # same fields in the same order (same repr)


def test_read_equals_mido_on_every_kind_of_event(tmp_path):
  path = tmp_path / "all.mid"
  path.write_bytes(_file(TRACK, TRACK[:20] + _vlq(0) + b"\xff\x2f\x00"))
  ours = midi_reader.read(path)
  _assert_same(ours, mido.MidiFile(path))
  assert [m.type for m in ours.tracks[0] if not m.is_meta][:5] == [
      "sysex", "program_change", "note_on", "note_on", "note_on"]


@pytest.mark.parametrize("case", ["running status after sysex", "system common message"])
def test_unusual_files_are_read_by_mido(tmp_path, case):
  if case == "running status after sysex":  # mido drops the data byte; so must we
    body = _vlq(0) + b"\xf0\x02\x41\xf7" + _vlq(0) + b"\x02\x01\x11" + _vlq(0) + b"\xff\x2f\x00"
  else:
    body = _vlq(0) + b"\xf2\x10\x20" + _vlq(0) + b"\xff\x2f\x00"   # song position
  path = tmp_path / "unusual.mid"
  path.write_bytes(_file(body))
  _assert_same(midi_reader.read(path), mido.MidiFile(path))


@pytest.mark.parametrize("cut", [10, 30, 60])
def test_a_truncated_file_raises_what_mido_raises(tmp_path, cut):
  path = tmp_path / "cut.mid"
  path.write_bytes(_file(TRACK)[:cut])
  with pytest.raises(Exception) as theirs:
    mido.MidiFile(path)
  with pytest.raises(type(theirs.value), match=str(theirs.value) or None):
    midi_reader.read(path)


def test_a_data_byte_above_127_raises_what_mido_raises(tmp_path):
  path = tmp_path / "bad.mid"
  path.write_bytes(_file(_vlq(0) + b"\x90\x3c\xff" + _vlq(0) + b"\xff\x2f\x00"))
  with pytest.raises(OSError, match="data byte"):
    midi_reader.read(path)


@pytest.mark.parametrize("pattern", ["maestro-v2.0.0/2004/*.midi", "groove/drummer1/*/*.mid"])
def test_note_sequences_of_real_files_equal_note_seqs(pattern):
  note_seq = pytest.importorskip("note_seq")
  files = sorted(glob.glob(os.path.join(SHARED, pattern)))[:3]
  if not files:
    pytest.skip(f"no {pattern} under ../shared/data")
  for path in files:
    assert midi_reader.note_sequence(path) == note_seq.midi_file_to_note_sequence(path), path
