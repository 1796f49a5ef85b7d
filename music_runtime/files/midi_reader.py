"""Standard MIDI files read into the `mido.MidiFile` that mido itself would build, faster.

mido reads a file a byte at a time through a file object and validates every message as it
builds it; that was about half the time of converting MAESTRO (note_seq and pretty_midi on top
of mido). Here the bytes are indexed directly and channel messages are built as
`mido.Message.from_bytes` builds them (a new message given the decoded fields, in their order, as
its attributes); meta and sysex messages, which are few, go through mido's own constructors.
Anything this reader does not expect (a system common message, a data byte above 127, a track
whose events overrun its length, a truncated file) is handed to `mido.MidiFile`, so malformed
files raise mido's errors.
"""

import io
import struct
from typing import TYPE_CHECKING

import mido
from mido.messages import specs
from mido.midifiles import meta as mido_meta
from mido.midifiles import midifiles as mido_files

if TYPE_CHECKING:
  from note_seq.protobuf import music_pb2

# status byte -> (type, number of data bytes, name of the first, of the second (or None),
# channel) for channel messages.
_CHANNEL_SPECS = {}
for _status in range(0x80, 0xF0):
  _spec = specs.SPEC_BY_STATUS[_status]
  _names = tuple(n for n in _spec["value_names"] if n != "channel") + (None,)
  _CHANNEL_SPECS[_status] = (_spec["type"], _spec["length"] - 1, _names[0], _names[1],
                             _status & 0x0F)


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


class _CheckedMessage(mido.Message):
  """A channel message whose fields were checked as they were read: pretty_midi rewrites every
  message's time (to absolute ticks), and mido's checks on each assignment were about 7% of a
  profiled MAESTRO conversion. Equal to, and an instance of, mido.Message."""
  __setattr__ = object.__setattr__


def _track(data, pos, end, message_class):
  """mido.MidiTrack of the events in data[pos:end] (as mido's `read_track`)."""
  messages = []
  last_status = None
  new_message = mido.Message.__new__
  set_fields = object.__setattr__  # a fresh message's fields, as vars(message).update would
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
      kind, size, first_name, second_name, channel = spec
      if pos + size > end:
        raise _Unexpected("truncated message")
      first = data[pos]
      # As mido.Message.from_bytes builds a message (decode_message's fields, in its order).
      if size == 1:
        if first > 127:
          raise _Unexpected("data byte above 127")
        fields = {"type": kind, "time": delta, first_name: first, "channel": channel}
      else:
        second = data[pos + 1]
        if first > 127 or second > 127:
          raise _Unexpected("data byte above 127")
        if kind == "pitchwheel":
          fields = {"type": kind, "time": delta, "channel": channel,
                    "pitch": first | ((second << 7) + specs.MIN_PITCHWHEEL)}
        else:
          fields = {"type": kind, "time": delta, first_name: first, second_name: second,
                    "channel": channel}
      pos += size
      message = new_message(message_class)
      set_fields(message, "__dict__", fields)
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


def _parse(data, charset, message_class):
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
      midi.tracks.append(_track(data, start, start + size, message_class))
      pos = start + size
  return midi


def read(path: str, charset: str = "latin1",
         message_class: type = mido.Message) -> mido.MidiFile:
  """The `mido.MidiFile` of a MIDI file, equal to `mido.MidiFile(path, charset=charset)`."""
  with open(path, "rb") as f:
    data = f.read()
  try:
    return _parse(data, charset, message_class)
  except _Unexpected:
    return mido.MidiFile(file=io.BytesIO(data), charset=charset)


def note_sequence(path: str) -> "music_pb2.NoteSequence":
  """`note_seq.midi_file_to_note_sequence(path)`, the file read by `read`."""
  import note_seq  # pylint: disable=import-outside-toplevel
  import pretty_midi  # pylint: disable=import-outside-toplevel
  try:
    midi = pretty_midi.PrettyMIDI(mido_object=read(path, message_class=_CheckedMessage))
  except Exception as e:  # pylint: disable=broad-except  # as note_seq wraps pretty_midi's errors
    raise note_seq.MIDIConversionError(f"Midi decoding error {type(e)}: {e}") from e
  return note_seq.midi_to_note_sequence(midi)
