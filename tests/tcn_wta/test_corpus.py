"""tcn_wta.datasets.corpus: a score's roll and labels."""




def test_corpus_roll_and_labels_of_a_made_up_score():
  from music21 import chord, key, meter, note, stream  # pylint: disable=import-outside-toplevel
  from tcn_wta.datasets import corpus  # pylint: disable=import-outside-toplevel
  part = stream.Part()
  part.append(key.Key("D"))
  part.append(meter.TimeSignature("3/4"))
  part.append(note.Note("D4", quarterLength=1))
  part.append(chord.Chord(["F#4", "A4"], quarterLength=2))
  score = stream.Score([part])
  roll = corpus.score_to_roll(score)
  assert roll.shape == (13, 88)
  assert roll[:4, 62 - 21].all() and not roll[4:, 62 - 21].any()
  assert roll[4:12, 66 - 21].all() and roll[4:12, 69 - 21].all()
  assert corpus.score_labels(score) == {"key_signature": "2", "mode": "major",
                                        "time_signature": "3/4"}
  assert [corpus.split_of(i) for i in (0, 8, 9, 10)] == ["train", "validation", "test", "train"]
