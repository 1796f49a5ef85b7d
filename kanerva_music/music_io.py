"""Pitch grids <-> NoteSequence, MIDI and WAV (shared by the DKM report and tools).

A grid is [steps, voices] MIDI pitches on a 16th-note grid (NaN = rest). As in the JSB data,
held and repeated notes are not distinguished: equal consecutive pitches become one note.
"""

import os
import shutil
import wave

import numpy as np

DEFAULT_QPM = 100.0
VOICE_PROGRAMS = (52, 52, 52, 52)  # General MIDI "Choir Aahs" for S, A, T, B
SAMPLE_RATE = 16000


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


def _soundfont():
  for candidate in (os.environ.get("SOUNDFONT", ""), "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                    "/usr/share/soundfonts/FluidR3_GM.sf2"):
    if candidate and os.path.exists(candidate):
      return candidate
  return None


def synthesize(grid, sample_rate=SAMPLE_RATE, **kwargs):
  """Audio in [-1, 1]: fluidsynth with a General MIDI soundfont when available, else sines."""
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = grid_to_sequence(grid, **kwargs)
  soundfont = _soundfont()
  if soundfont and shutil.which("fluidsynth"):
    try:
      return note_seq.fluidsynth(seq, sample_rate=sample_rate, sf2_path=soundfont), "fluidsynth"
    except Exception:  # pylint: disable=broad-except  # pyfluidsynth missing: fall back to sines
      pass
  return _sine_synthesis(seq, sample_rate), "sine"


def _sine_synthesis(seq, sample_rate):
  """Additive sines with short fades, so that notes do not click."""
  audio = np.zeros(int(np.ceil(seq.total_time * sample_rate)) + 1)
  fade = int(0.01 * sample_rate)
  for note in seq.notes:
    start, stop = int(note.start_time * sample_rate), int(note.end_time * sample_rate)
    t = np.arange(stop - start) / sample_rate
    freq = 440.0 * 2 ** ((note.pitch - 69) / 12)
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
    envelope = np.ones_like(t)
    n = min(fade, len(t) // 2)
    if n:
      envelope[:n] = np.linspace(0, 1, n)
      envelope[-n:] = np.linspace(1, 0, n)
    audio[start:stop] += tone * envelope
  peak = np.max(np.abs(audio))
  return audio / peak * 0.8 if peak > 0 else audio


def write_wav(grid, path, sample_rate=SAMPLE_RATE, **kwargs):
  """Writes 16-bit mono WAV; returns the synthesiser used ("fluidsynth" or "sine")."""
  audio, synth = synthesize(grid, sample_rate, **kwargs)
  pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
  with wave.open(path, "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.writeframes(pcm.tobytes())
  return synth
