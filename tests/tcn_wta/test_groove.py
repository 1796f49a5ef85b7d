"""tcn_wta.datasets.groove: the Groove tensor, its MIDI round trip, the real files."""

import os

import numpy as np
import pytest

from tcn_wta.datasets import groove
from tests.tcn_wta import made_up


def test_groove_tensor_midi_round_trip_is_identity_on_the_grid(tmp_path):
  import note_seq  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  tensor = np.zeros((64, groove.CHANNELS), np.float32)
  hits = rng.random((64, groove.NUM_CLASSES)) < 0.2
  tensor[:, :9] = hits
  tensor[:, 9:18] = hits * rng.integers(1, 128, hits.shape) / 127
  tensor[:, 18:] = hits * rng.uniform(-0.45, 0.45, hits.shape)
  path = str(tmp_path / "drums.mid")
  note_seq.sequence_proto_to_midi_file(groove.tensor_to_sequence(tensor, 110.0), path)
  back = groove.sequence_to_tensor(note_seq.midi_file_to_note_sequence(path), 110.0)
  back = np.pad(back, ((0, 64 - len(back)), (0, 0)))
  np.testing.assert_array_equal(back[:, :18], tensor[:, :18])
  # Offsets survive up to MIDI's tick resolution (220 ticks per quarter = 55 per step).
  np.testing.assert_allclose(back[:, 18:], tensor[:, 18:], atol=1 / 55 + 1e-6)


def test_loudest_note_of_a_class_wins_a_step():
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  step = groove.step_seconds(120.0)
  seq.notes.add(pitch=38, velocity=40, start_time=0.0, end_time=0.1, is_drum=True)
  seq.notes.add(pitch=40, velocity=100, start_time=0.1 * step, end_time=0.2, is_drum=True)
  tensor = groove.sequence_to_tensor(seq, 120.0)
  assert tensor[0, 1] == 1 and tensor[0, 10] == pytest.approx(100 / 127)
  assert tensor[0, 19] == pytest.approx(0.1, abs=1e-5)


@pytest.mark.skipif(not os.path.exists(made_up.SHARED_GROOVE), reason="needs ../shared/data")
def test_real_groove_files_convert():
  rows = groove.read_info(made_up.SHARED_GROOVE)
  assert len(rows) > 1000 and all(r["time_signature"] == "4-4" for r in rows)
  tensor = groove.load_file(made_up.SHARED_GROOVE, rows[0])
  assert tensor.shape[1] == 27 and tensor[:, :9].sum() > 50
  assert np.all(np.abs(tensor[:, 18:]) <= 0.5)
