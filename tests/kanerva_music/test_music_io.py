"""kanerva_music.reporting.music_io: pitch grids to MIDI and WAV."""

import wave

import numpy as np
import pytest

from kanerva_music.reporting import music_io


def test_grid_to_midi_merges_held_notes_and_wav_is_written(tmp_path):
  import note_seq  # pylint: disable=import-outside-toplevel
  grid = np.array([[60, 55, 50, 40], [60, 55, 50, 40], [62, np.nan, 50, 41]], np.float64)
  path = str(tmp_path / "x.mid")
  music_io.write_midi(grid, path, qpm=60)
  seq = note_seq.midi_file_to_note_sequence(path)
  soprano = sorted((n.start_time, n.end_time, n.pitch) for n in seq.notes if n.instrument == 0)
  assert [(round(s, 3), round(e, 3), p) for s, e, p in soprano] == [(0, 0.5, 60), (0.5, 0.75, 62)]
  assert sorted(n.pitch for n in seq.notes if n.instrument == 1) == [55]  # the rest is silent
  synth = music_io.write_wav(grid, str(tmp_path / "x.wav"), qpm=60)
  with wave.open(str(tmp_path / "x.wav")) as f:
    assert f.getnframes() == pytest.approx(0.75 * music_io.SAMPLE_RATE, abs=2)
  assert synth in ("sine", "fluidsynth")
