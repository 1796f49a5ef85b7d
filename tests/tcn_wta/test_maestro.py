"""tcn_wta.datasets.maestro: performance events and tokens."""

import numpy as np

from tests.tcn_wta import made_up


def test_performance_events_round_trip(tmp_path):
  from tcn_wta.datasets import maestro  # pylint: disable=import-outside-toplevel
  made_up.write_piano_midi(tmp_path / "p.mid", np.random.default_rng(3))
  sequence = maestro._sustained_sequence(str(tmp_path / "p.mid"))  # pylint: disable=protected-access
  tokens = maestro.sequence_to_events(sequence)
  assert tokens.dtype == np.int16 and tokens.min() >= 0 and tokens.max() < maestro.NUM_EVENTS
  again = maestro.sequence_to_events(maestro.events_to_sequence(tokens))
  np.testing.assert_array_equal(again, tokens)
  roll = maestro.sequence_to_roll(sequence, 16)
  assert roll.shape[1] == 88 and 0 < roll.max() <= 1


def test_performance_tokens_equal_note_seqs_performance_events():
  """The direct token computation against note_seq's Performance, one event object at a time,
  on the cases its ordering rules decide: shifts of exactly 1 and 2 s and longer, offsets and
  onsets on one step, repeated notes (same start and pitch), velocity kept and changed."""
  import note_seq  # pylint: disable=import-outside-toplevel
  from tcn_wta.datasets import maestro  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence(ticks_per_quarter=220)
  for pitch, velocity, start, end in [
      (60, 80, 0.0, 0.5), (64, 80, 0.0, 0.5), (64, 80, 0.0, 0.3), (67, 81, 0.5, 1.5),
      (60, 100, 1.5, 2.5), (72, 20, 3.5, 3.51), (48, 127, 5.5, 6.0), (50, 1, 8.0, 8.004),
      (55, 60, 8.004, 9.0), (41, 60, 8.004, 8.5)]:
    seq.notes.add(pitch=pitch, velocity=velocity, start_time=start, end_time=end)
  rng = np.random.default_rng(7)
  for _ in range(200):
    start = float(rng.choice([0.0, 0.01, 0.005, 0.33]) + rng.integers(0, 1200) / 100)
    seq.notes.add(pitch=int(rng.integers(21, 109)), velocity=int(rng.integers(1, 128)),
                  start_time=start, end_time=start + float(rng.choice([0.004, 0.01, 1.0, 2.5])))
  seq.total_time = max(n.end_time for n in seq.notes)
  expected = maestro.sequence_to_events_by_note_seq(seq)
  assert len(expected) > 400
  np.testing.assert_array_equal(maestro.sequence_to_events(seq), expected)
