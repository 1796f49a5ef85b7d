"""kanerva_music.tools.completion_files: training episodes of the data the run was trained on,
outputs that never replace the input; a TCN workdir refused."""

import json
import os

import pytest

from kanerva_music.tools import completion_files
from kanerva_music.tools import user_score
from tests.conftest import four_voices
from tests.conftest import write_score


def test_the_completion_tool_refuses_training_episodes_of_other_data(tmp_path):
  trained_on = {"kind": "music21 corpus", "path": None, "sha256": "a" * 64}
  (tmp_path / "config.json").write_text(json.dumps({"seed": 0, "data_provenance": trained_on}))
  loaded = {"kind": "data directory", "path": "x/Jsb16thSeparated.npz", "sha256": "b" * 64}
  with pytest.raises(user_score.CompletionInputError,
                     match="was trained on music21 corpus .*aaaaaaaaaaaa.*, but its training "
                           "episodes would come from data directory x/Jsb16thSeparated.npz"):
    completion_files.check_training_data(str(tmp_path), loaded)
  completion_files.check_training_data(str(tmp_path), dict(loaded, sha256="a" * 64))


def test_the_completion_tool_refuses_a_tcn_workdir_in_one_line(tmp_path):
  from kanerva_music.tools import complete  # pylint: disable=import-outside-toplevel
  (tmp_path / "config.json").write_text(json.dumps({"program": "tcn_wta.main", "seed": 0}))
  with pytest.raises(user_score.CompletionInputError, match="holds a run of python -m "
                                                            "tcn_wta.main"):
    complete.load_trained(str(tmp_path))


def test_an_output_that_is_the_input_by_any_path_is_refused_before_any_work(tmp_path):
  source = tmp_path / "mine.mid"
  write_score(source, four_voices(num_quarters=4))
  (tmp_path / "links").mkdir()
  os.symlink(source, tmp_path / "links" / "alias.mid")
  os.link(source, tmp_path / "hard.mid")
  for output in (tmp_path / "links" / "alias.mid", tmp_path / "hard.mid",
                 tmp_path / "links" / ".." / "mine.mid"):
    with pytest.raises(user_score.CompletionInputError, match="is the input file"):
      completion_files.check_output(str(output), str(source))
  wav_input = tmp_path / "take.wav"
  wav_input.write_bytes(b"RIFF")
  with pytest.raises(user_score.CompletionInputError, match="its WAV .* is the input file"):
    completion_files.check_output(str(tmp_path / "take.mid"), str(wav_input))
  with pytest.raises(user_score.CompletionInputError, match="no folder"):
    completion_files.check_output(str(tmp_path / "missing" / "out.mid"), str(source))
  completion_files.check_output(str(tmp_path / "out.mid"), str(source))  # a new file beside it
