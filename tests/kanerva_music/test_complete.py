"""The completion tool: kanerva_music.tools.complete (reads of a trained memory) and user_score
(the user's score, its bars and the fill plan)."""

import numpy as np
import pytest

from kanerva_music.tools import complete
from kanerva_music.tools import user_score
from music_runtime.files import workdir_utils
from tests.conftest import four_voices
from tests.conftest import tiny_config
from tests.conftest import write_score


@pytest.mark.parametrize("fmt,suffix", [("midi", "mid"), ("musicxml", "musicxml")])
def test_completion_tool_keeps_given_steps_and_fills_the_rest(trained_workdir, tmp_path, fmt,
                                                              suffix):
  config, workdir, result = trained_workdir
  source = tmp_path / f"mine.{suffix}"
  write_score(source, four_voices(), fmt)
  loaded_config, params = complete.load_trained(workdir)
  grid, bars = user_score.read_voices(str(source))
  assert grid.shape == (64, 4) and bars == user_score.Bars.regular(64, 16, 0)
  to_fill = user_score.fill_mask(bars, loaded_config.data.episode_steps)
  np.testing.assert_array_equal(np.flatnonzero(to_fill), list(range(16, 32)) + list(range(48, 64)))
  done = complete.complete_grid(loaded_config, params, grid, bars,
                                train_pool=result.pools["train"])
  out = done.pitches
  np.testing.assert_array_equal(out[~to_fill], grid[~to_fill])
  assert np.all((out[to_fill] >= 36) & (out[to_fill] <= 81))
  assert not np.array_equal(out[to_fill], grid[to_fill])
  # No window of the default fill is complete, so the memory holds training episodes only.
  assert done.summary[0] == (f"Memory: 0 window(s) of the input, "
                             f"{loaded_config.episodes_per_memory} training episodes")
  assert done.summary[1].startswith("Filled bar 2 from the window of bars 1-2;")


def test_completion_of_whole_bars_reads_each_with_given_context_and_stores_the_input(
    trained_workdir, tmp_path):
  _, workdir, result = trained_workdir
  source = tmp_path / "eight_bars.mid"
  write_score(source, four_voices(num_quarters=32))
  config, params = complete.load_trained(workdir)
  grid, bars = user_score.read_voices(str(source))
  # Bars 3 and 4 are a whole 2-bar window: bar 3 is read with bar 2 before it, bar 4 with bar 5.
  fill, reads = user_score.plan_reads(bars, 32, np.isfinite(grid).sum(1), fill_bars=["3", "4"])
  assert [(start, list(np.flatnonzero(w)[[0, -1]])) for start, w in reads] == [
      (16, [32, 47]), (48, [48, 63])]
  done = complete.complete_grid(config, params, grid, bars, fill_bars=["3", "4"],
                                train_pool=result.pools["train"])
  np.testing.assert_array_equal(done.pitches[~fill], grid[~fill])
  # Every window of given bars starting on a bar line (1-2, 5-6, 6-7, 7-8) is stored, up to T.
  own = [s for s in bars.lines() if s + 32 <= 128 and not fill[s:s + 32].any()]
  assert own == [0, 64, 80, 96]
  kept = min(len(own), config.episodes_per_memory)
  assert done.summary[0].startswith(f"Memory: {kept} window(s) of the input (bars 1-2")
  assert done.summary[1].startswith("Filled bar 3 from the window of bars 2-3;")
  assert done.summary[2].startswith("Filled bar 4 from the window of bars 4-5;")
  # Bars 3-5 leave bar 4 with no given neighbour in either window: refused unless asked.
  with pytest.raises(user_score.CompletionInputError, match="nothing is given in the window"):
    complete.complete_grid(config, params, grid, bars, fill_bars=["3", "4", "5"],
                           train_pool=result.pools["train"])
  unobserved = complete.complete_grid(config, params, grid, bars, fill_bars=["3", "4", "5"],
                                      train_pool=result.pools["train"], allow_unobserved=True)
  assert np.isfinite(unobserved.pitches).all()


def test_empty_fill_flags_are_refused_not_read_as_the_default():
  bars = user_score.Bars.regular(64)
  with pytest.raises(user_score.CompletionInputError, match="--fill_bars=: expected bar numbers"):
    user_score.fill_mask(bars, 32, fill_bars=[])
  with pytest.raises(user_score.CompletionInputError, match="--fill_steps=: expected a-b"):
    user_score.fill_mask(bars, 32, fill_steps="")
  # A one-bar piece: the default fill (the second half of each window) holds no step of it.
  one_bar = user_score.Bars.regular(16)
  given = np.ones((16, 4), bool)
  with pytest.raises(user_score.CompletionInputError, match="nothing to fill: the default fill"):
    complete.fill_plan(one_bar, 32, given)
  assert complete.fill_plan(one_bar, 32, given, fill_bars=["1"])[0].all()


def test_completion_tool_input_errors(tmp_path, tiny_chorale_npz):
  three = tmp_path / "three.mid"
  write_score(three, four_voices()[:3])
  with pytest.raises(user_score.CompletionInputError, match="has 3 parts; expected four voices"):
    user_score.read_voices(str(three))
  high = tmp_path / "high.mid"
  voices = four_voices()
  voices[0] = ("Soprano", [84] + voices[0][1][1:])
  write_score(high, voices)
  with pytest.raises(user_score.CompletionInputError, match=r"1 note\(s\) outside.*soprano bar 1 C6"):
    user_score.read_voices(str(high))
  with pytest.raises(user_score.CompletionInputError, match="no such file"):
    user_score.read_voices(str(tmp_path / "missing.mid"))
  untrained = tmp_path / "untrained"
  workdir_utils.write_config_json(tiny_config(tiny_chorale_npz), str(untrained))
  with pytest.raises(user_score.CompletionInputError, match="untrained"):
    complete.load_trained(str(untrained))
