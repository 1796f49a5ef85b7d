"""NoteSequences -> WAV and MIDI, for both programs' reports and tools.

Audio is synthesised by fluidsynth with a General MIDI soundfont when one is installed ($SOUNDFONT
or the usual paths), else by additive sines with noise bursts for drums.
"""

import io
import os
import shutil
import wave
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
  from note_seq.protobuf import music_pb2

SAMPLE_RATE = 16000


def _soundfont():
  for candidate in (os.environ.get("SOUNDFONT", ""), "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                    "/usr/share/soundfonts/FluidR3_GM.sf2"):
    if candidate and os.path.exists(candidate):
      return candidate
  return None


def synthesize_sequence(seq: "music_pb2.NoteSequence",
                        sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, str]:
  """Audio in [-1, 1]: fluidsynth with a General MIDI soundfont when available, else sines
  (and noise bursts for drums)."""
  import note_seq  # pylint: disable=import-outside-toplevel
  soundfont = _soundfont()
  if soundfont and shutil.which("fluidsynth"):
    try:
      return note_seq.fluidsynth(seq, sample_rate=sample_rate, sf2_path=soundfont), "fluidsynth"
    except Exception:  # pylint: disable=broad-except  # pyfluidsynth missing: fall back to sines
      pass
  return _sine_synthesis(seq, sample_rate), "sine"


def _drum_hit(pitch, velocity, sample_rate, rng):
  """A decaying noise burst (cymbals, snare) or a falling sine (kick, toms) of ~0.15 s."""
  t = np.arange(int(0.15 * sample_rate)) / sample_rate
  if pitch in (35, 36, 41, 43, 45, 47, 48, 50, 58):
    freq = 55.0 if pitch <= 36 else 80.0 + 4 * (pitch - 41)
    tone = np.sin(2 * np.pi * freq * t * (1 + 2 * np.exp(-t * 40)))
    decay = 18.0
  else:
    tone = rng.uniform(-1, 1, len(t))
    decay = 30.0 if pitch in (38, 37, 40, 42, 22, 44) else 10.0
  return tone * np.exp(-t * decay) * velocity / 127.0


def _sine_synthesis(seq, sample_rate):
  """Additive sines with short fades, so that notes do not click; noise bursts for drums."""
  audio = np.zeros(int(np.ceil(seq.total_time * sample_rate)) + 1)
  fade = int(0.01 * sample_rate)
  rng = np.random.default_rng(0)
  for note in seq.notes:
    start, stop = int(note.start_time * sample_rate), int(note.end_time * sample_rate)
    if note.is_drum:
      hit = _drum_hit(note.pitch, note.velocity, sample_rate, rng)[:len(audio) - start]
      audio[start:start + len(hit)] += hit
      continue
    t = np.arange(stop - start) / sample_rate
    freq = 440.0 * 2 ** ((note.pitch - 69) / 12)
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
    envelope = np.ones_like(t) * note.velocity / 127.0
    n = min(fade, len(t) // 2)
    if n:
      envelope[:n] *= np.linspace(0, 1, n)
      envelope[-n:] *= np.linspace(1, 0, n)
    audio[start:stop] += tone * envelope
  peak = np.max(np.abs(audio)) if len(audio) else 0
  return audio / peak * 0.8 if peak > 0 else audio


def write_sequence_wav(seq: "music_pb2.NoteSequence", path: str,
                       sample_rate: int = SAMPLE_RATE) -> str:
  """Writes a NoteSequence as 16-bit mono WAV; returns the synthesiser ("fluidsynth" or "sine")."""
  audio, synth = synthesize_sequence(seq, sample_rate)
  pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
  with wave.open(path, "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.writeframes(pcm.tobytes())
  return synth


def midi_bytes(seq: "music_pb2.NoteSequence") -> int:
  """The size of `seq` as a standard MIDI file, in bytes."""
  import note_seq  # pylint: disable=import-outside-toplevel
  buffer = io.BytesIO()
  note_seq.sequence_proto_to_pretty_midi(seq).write(buffer)
  return len(buffer.getvalue())
