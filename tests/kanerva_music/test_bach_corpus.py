"""kanerva_music.data.bach_corpus: a music21 score as the 16th-note grid."""

import numpy as np


def test_music21_score_becomes_a_16th_note_grid():
  from music21 import chord, note, stream  # pylint: disable=import-outside-toplevel
  from kanerva_music.data import bach_corpus  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitches in [("Soprano", ["C5", "D5"]), ("Alto", ["E4", "F4"]),
                        ("Tenor", ["G3", None]), ("Bass", ["C3", ["C3", "G3"]])]:
    part = stream.Part()
    part.partName = name
    for p in pitches:
      if p is None:
        part.append(note.Rest(quarterLength=1))
      elif isinstance(p, list):
        part.append(chord.Chord(p, quarterLength=1))
      else:
        part.append(note.Note(p, quarterLength=1))
    score.insert(0, part)
  grid = bach_corpus.score_to_pitches(score)
  assert grid.shape == (8, 4)
  np.testing.assert_array_equal(grid[:4, 0], [72] * 4)
  np.testing.assert_array_equal(grid[4:, 1], [65] * 4)
  assert np.all(np.isnan(grid[4:, 2]))
  np.testing.assert_array_equal(grid[4:, 3], [55] * 4)  # top note of the chord
  assert [bach_corpus.split_of(i) for i in range(5)] == ["train"] * 3 + ["valid", "test"]
