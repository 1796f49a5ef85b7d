"""Standard MIDI files read into the `mido.MidiFile` that mido itself would build, faster.

mido reads a file a byte at a time through a file object and validates every message as it
builds it; that was about half the time of converting MAESTRO (note_seq and pretty_midi on top
of mido). Here the bytes are indexed directly and channel messages are built as
`mido.Message.from_bytes` builds them (its `vars(msg).update` of the decoded fields); meta and
sysex messages, which are few, go through mido's own constructors. Anything this reader does not
expect (a system common message, a data byte above 127, a track whose events overrun its
length, a truncated file) is handed to `mido.MidiFile`, so malformed files raise mido's errors.
"""

import io
import struct

import mido
from mido.messages import specs
from mido.midifiles import meta as mido_meta
from mido.midifiles import midifiles as mido_files

# status byte -> (type, number of data bytes, names of the data bytes) for channel messages.
_CHANNEL_SPECS = {}
for _status in range(0x80, 0xF0):
  _spec = specs.SPEC_BY_STATUS[_status]
  _CHANNEL_SPECS[_status] = (_spec["type"], _spec["length"] - 1,
                             tuple(n for n in _spec["value_names"] if n != "channel"))


class _Unexpected(Exception):
  """Something mido should handle (and report)."""


def _variable_int(data, pos):
  value = 0
  while True:
    if pos >= len(data):
      raise _Unexpected("truncated variable-length number")
    byte = data[pos]
    pos += 1
    value = (value << 7) | (byte & 0x7F)
    if byte < 0x80:
      return value, pos


def _track(data, pos, end):
  """mido.MidiTrack of the events in data[pos:end] (as mido's `read_track`)."""
  messages = []
  last_status = None
  new_message = mido.Message.__new__
  message_class = mido.Message
  while pos < end:
    byte = data[pos]  # the delta time, a variable-length number (one byte, mostly)
    pos += 1
    delta = byte & 0x7F
    while byte >= 0x80:
      if pos >= end:
        raise _Unexpected("truncated delta time")
      byte = data[pos]
      pos += 1
      delta = (delta << 7) | (byte & 0x7F)
    if pos >= end:
      raise _Unexpected("truncated event")
    status = data[pos]
    if status < 0x80:  # running status: the previous status, and this is a data byte
      if last_status not in _CHANNEL_SPECS:  # none yet, or a sysex's (mido drops the byte)
        raise _Unexpected("running status without a channel status")
      status = last_status
    else:
      pos += 1
      if status != 0xFF:
        last_status = status
    spec = _CHANNEL_SPECS.get(status)
    if spec is not None:
      kind, size, names = spec
      data_bytes = data[pos:pos + size]
      pos += size
      if len(data_bytes) != size or max(data_bytes) > 127:
        raise _Unexpected("bad data bytes")
      # As mido.Message.from_bytes builds a message (decode_message's fields, in its order).
      if kind == "pitchwheel":
        fields = {"type": kind, "time": delta, "channel": status & 0x0F,
                  "pitch": data_bytes[0] | ((data_bytes[1] << 7) + specs.MIN_PITCHWHEEL)}
      elif size == 2:
        fields = {"type": kind, "time": delta, names[0]: data_bytes[0], names[1]: data_bytes[1],
                  "channel": status & 0x0F}
      else:
        fields = {"type": kind, "time": delta, names[0]: data_bytes[0], "channel": status & 0x0F}
      message = new_message(message_class)
      vars(message).update(fields)
      messages.append(message)
    elif status == 0xFF:
      if pos >= end:
        raise _Unexpected("truncated meta message")
      meta_type = data[pos]
      length, pos = _variable_int(data, pos + 1)
      if length > mido_files.MAX_MESSAGE_LENGTH or pos + length > len(data):
        raise _Unexpected("meta message too long")
      messages.append(mido_meta.build_meta_message(meta_type, list(data[pos:pos + length]),
                                                   delta))
      pos += length
    elif status in (0xF0, 0xF7):
      length, pos = _variable_int(data, pos)
      if length > mido_files.MAX_MESSAGE_LENGTH or pos + length > len(data):
        raise _Unexpected("sysex too long")
      body = list(data[pos:pos + length])
      pos += length
      if body and body[0] == 0xF0:
        body = body[1:]
      if body and body[-1] == 0xF7:
        body = body[:-1]
      messages.append(mido.Message("sysex", data=body, time=delta))
    else:
      raise _Unexpected(f"status byte 0x{status:02x}")
  if pos != end:
    raise _Unexpected("events overrun the track")
  return mido.MidiTrack(messages)


def _parse(data, charset):
  if data[:4] != b"MThd" or len(data) < 14:
    raise _Unexpected("no MThd header")
  header_size = struct.unpack(">L", data[4:8])[0]
  file_type, num_tracks, ticks_per_beat = struct.unpack(">hhh", data[8:14])
  midi = mido.MidiFile(charset=charset)
  midi.type, midi.ticks_per_beat = file_type, ticks_per_beat  # as mido's _load sets them
  pos = 8 + header_size
  with mido_meta.meta_charset(charset):
    for _ in range(num_tracks):
      if data[pos:pos + 4] != b"MTrk" or pos + 8 > len(data):
        raise _Unexpected("no MTrk header")
      size = struct.unpack(">L", data[pos + 4:pos + 8])[0]
      start = pos + 8
      if start + size > len(data):
        raise _Unexpected("truncated track")
      midi.tracks.append(_track(data, start, start + size))
      pos = start + size
  return midi


def read(path, charset="latin1"):
  """The `mido.MidiFile` of a MIDI file, equal to `mido.MidiFile(path, charset=charset)`."""
  with open(path, "rb") as f:
    data = f.read()
  try:
    return _parse(data, charset)
  except _Unexpected:
    return mido.MidiFile(file=io.BytesIO(data), charset=charset)


def note_sequence(path):
  """`note_seq.midi_file_to_note_sequence(path)`, the file read by `read`."""
  import note_seq  # pylint: disable=import-outside-toplevel
  import pretty_midi  # pylint: disable=import-outside-toplevel
  try:
    midi = pretty_midi.PrettyMIDI(mido_object=read(path))
  except Exception as e:  # pylint: disable=broad-except  # as note_seq wraps pretty_midi's errors
    raise note_seq.MIDIConversionError(f"Midi decoding error {type(e)}: {e}") from e
  return note_seq.midi_to_note_sequence(midi)
