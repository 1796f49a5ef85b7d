"""kanerva_music.tools.user_score: the user's bars as printed (pickups, time-signature changes,
measure numbers) and the fill plan's flags."""

import numpy as np
import pytest

from kanerva_music.tools import user_score


def _score_with_bars(bar_quarters, first_number=1):
  """A four-voice music21 score with one measure per entry of bar_quarters (a time signature
  wherever the length changes), numbered from first_number."""
  from music21 import meter, note, stream  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitch in (("Soprano", 72), ("Alto", 64), ("Tenor", 55), ("Bass", 45)):
    part = stream.Part()
    part.partName = name
    for i, quarters in enumerate(bar_quarters):
      bar = stream.Measure(number=first_number + i)
      if i == 0 or quarters != bar_quarters[i - 1]:
        bar.append(meter.TimeSignature(f"{quarters}/4"))
      for _ in range(quarters):
        bar.append(note.Note(pitch, quarterLength=1))
      part.append(bar)
    score.insert(0, part)
  return score


def test_pickup_bar_is_bar_zero(tmp_path):
  from music21 import meter, note, stream  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitch in (("Soprano", 72), ("Alto", 64), ("Tenor", 55), ("Bass", 45)):
    part = stream.Part()
    part.partName = name
    pickup = stream.Measure(number=0)
    pickup.append(meter.TimeSignature("3/4"))
    pickup.append(note.Note(pitch, quarterLength=1))
    pickup.paddingLeft = 2
    part.append(pickup)
    for number in range(1, 4):
      bar = stream.Measure(number=number)
      for _ in range(3):
        bar.append(note.Note(pitch, quarterLength=1))
      part.append(bar)
    score.insert(0, part)
  path = tmp_path / "pickup.musicxml"
  score.write("musicxml", fp=str(path))
  grid, bars = user_score.read_voices(str(path))
  assert bars == user_score.Bars.regular(40, 12, 4) and (bars.first, bars.last) == (0, 3)
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32, fill_bars=["2"])),
                                range(16, 28))
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32, fill_bars=["0"])),
                                range(4))
  # The default fill tiles windows from bar 1's downbeat (steps 20-35 of window 4-35); the
  # pickup is kept.
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32)), range(20, 36))
  with pytest.raises(user_score.CompletionInputError, match=r"bar\(s\) \[4\] outside .* bars 0-3"):
    user_score.fill_mask(bars, 32, fill_bars=["4"])


@pytest.mark.parametrize("fmt,suffix", [("midi", "mid"), ("musicxml", "musicxml")])
def test_bars_follow_time_signature_changes(tmp_path, fmt, suffix):
  path = tmp_path / f"three_then_four.{suffix}"
  _score_with_bars([3, 3, 4, 4, 4, 4, 4, 4]).write(fmt, fp=str(path))
  grid, bars = user_score.read_voices(str(path))
  assert len(grid) == 4 * (6 + 24)
  assert bars.starts == (0, 12, 24, 40, 56, 72, 88, 104) and (bars.first, bars.last) == (1, 8)
  # Bar 6 is the 4/4 bar from quarter 18, not the sixth 3/4 bar.
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32, fill_bars=["6"])),
                                range(72, 88))
  with pytest.raises(user_score.CompletionInputError, match=r"bar\(s\) \[9\] outside .* bars 1-8"):
    user_score.fill_mask(bars, 32, fill_bars=["9"])


def test_bars_keep_the_printed_measure_numbers(tmp_path):
  path = tmp_path / "excerpt.musicxml"
  _score_with_bars([4, 4, 4, 4], first_number=5).write("musicxml", fp=str(path))
  _, bars = user_score.read_voices(str(path))
  assert bars.numbers == (5, 6, 7, 8) and bars.describe(16, 48) == "bars 6-7"
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32, fill_bars=["6"])),
                                range(16, 32))
  with pytest.raises(user_score.CompletionInputError, match=r"bar\(s\) \[1\] outside .* bars 5-8"):
    user_score.fill_mask(bars, 32, fill_bars=["1"])


def test_fill_bars_and_bad_fill_steps():
  bars = user_score.Bars.regular(64)
  np.testing.assert_array_equal(np.flatnonzero(user_score.fill_mask(bars, 32, fill_bars=["3"])),
                                range(32, 48))
  np.testing.assert_array_equal(
      np.flatnonzero(user_score.fill_mask(user_score.Bars.regular(32), 32, fill_steps="24-31")),
      range(24, 32))
  with pytest.raises(user_score.CompletionInputError, match="--fill_steps=30-40"):
    user_score.fill_mask(user_score.Bars.regular(32), 32, fill_steps="30-40")
  with pytest.raises(user_score.CompletionInputError, match=r"bar\(s\) \[99\] outside .* bars 1-4"):
    user_score.fill_mask(bars, 32, fill_bars=["3", "99"])
  with pytest.raises(user_score.CompletionInputError, match="expected bar numbers 1-4"):
    user_score.fill_mask(bars, 32, fill_bars=["x"])
  with pytest.raises(user_score.CompletionInputError, match="--fill_steps=a-b"):
    user_score.fill_mask(user_score.Bars.regular(32), 32, fill_steps="a-b")
