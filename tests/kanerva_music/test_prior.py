"""The inpainting network's program: its config checks, a small network trained on the JSB
chorales through the binary (its report, evaluation and the completion tool), its best
parameters. The modules' own tests are in tests/kanerva_music/prior/."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from configs import chorales as chorales_config
from kanerva_music.tools import complete
from kanerva_music.tools import user_score
from kanerva_music.training import config_checks
from tests.conftest import four_voices
from tests.conftest import write_score
from tests.conftest import xla_error_lines
from tests.kanerva_music.conftest import ROOT
from tests.kanerva_music.conftest import prior_command
from tests.kanerva_music.conftest import prior_env


@pytest.mark.parametrize("field,value,message", [
    ("prior.network", "rnn", "prior.network"),
    ("prior.heads", 3, "does not divide"),
    ("prior.mask_mix", (1.0, 0.0), "mask_mix"),
    ("eval.code_length_block", 3, "does not divide"),
    ("eval.prior_masks", ("sideways",), "prior_masks"),
    ("eval.gibbs_min_share", 0.0, "gibbs_min_share")])
def test_bad_prior_configs_are_refused_naming_the_field(field, value, message):
  config = chorales_config.get_config("prior_quick")
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(config_checks.ConfigError, match=message):
    config_checks.validate(config)


def test_a_codec_dkm_config_or_workdir_is_one_line_naming_the_network(tmp_path):
  config = chorales_config.get_config("quick")
  config.model.kind = "codec"
  with pytest.raises(config_checks.ConfigError, match="no codec DKM.*chorales.py:prior"):
    config_checks.validate(config)
  (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
  with pytest.raises(user_score.CompletionInputError,
                     match="holds a codec DKM.*chorales.py:prior"):
    complete.load_trained(str(tmp_path))


def test_the_memory_of_the_piece_adds_to_the_network_where_the_piece_repeats(trained_prior):
  workdir, _ = trained_prior
  prior = json.load(open(os.path.join(workdir, "report.json")))["prior"]
  config = chorales_config.get_config("prior_quick")
  assert set(prior["context"]) == set(prior["stored"]) == set(config.eval.context_masks)
  assert prior["context_windows"] == config.eval.context_windows
  for mask in ("half", "soprano"):
    by = {k: v["acc_exact"] for k, v in prior["context"][mask].items()}
    assert by["memory_on"] > by["memory_off"] + 0.03, (mask, by)
    # the window itself in the memory: recalled better than from the other windows alone
    assert prior["stored"][mask]["acc_exact"] > by["memory_on"], mask
  assert prior["context"]["half"]["memory_off"]["bytes"] == 0
  assert prior["context"]["half"]["memory_on"]["bytes"] == 4 * 32 * (32 * 4 * 46 + 32)
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## The memory as context" in text and "stored recall" in text


def test_evaluation_reproduces_the_report_and_leaves_training_alone(trained_prior, tmp_path):
  workdir, _ = trained_prior
  copy = tmp_path / "copy"
  shutil.copytree(workdir, copy)
  config_bytes = open(copy / "config.json", "rb").read()
  # Its programs are the first run's, loaded from that run's compilation cache.
  done = subprocess.run(prior_command(copy, "--mode=eval"), cwd=ROOT, capture_output=True,
                        text=True, timeout=600, env=prior_env(workdir))
  assert done.returncode == 0, done.stderr[-3000:]
  first = json.load(open(os.path.join(workdir, "report.json")))["prior"]
  again = json.load(open(copy / "report.json"))["prior"]
  assert again["complete"] == first["complete"] and again["code_length"] == first["code_length"]
  assert open(copy / "config.json", "rb").read() == config_bytes


def _midi_notes(path, voice):
  import pretty_midi  # pylint: disable=import-outside-toplevel
  midi = pretty_midi.PrettyMIDI(str(path))
  return sorted((round(n.start, 6), round(n.end, 6), n.pitch) for n in midi.instruments[voice].notes)


def test_the_completion_tool_harmonises_a_musicxml_melody_keeping_it_exactly(trained_prior,
                                                                             tmp_path):
  workdir, _ = trained_prior
  melody = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 69, 71, 69, 67, 67]
  source, out = tmp_path / "melody.musicxml", tmp_path / "harmonised.mid"
  write_score(source, [("Soprano", melody)], "musicxml")
  command = [sys.executable, "-m", "kanerva_music.tools.complete", f"--workdir={workdir}",
             f"--input={source}", f"--output={out}", "--given_voices=S", "--sample"]
  done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  assert "Model: inpainting network (conv" in done.stdout and "gibbs read" in done.stdout
  assert "Filled 192 entries (ATB of bars 1-4)" in done.stdout
  # a melody alone: no window of the piece is fully given, so the memory holds nothing
  assert "Memory: 0 fully given bar-aligned windows of the piece (the memory is off" in done.stdout
  quarter = 0.5  # 120 quarter notes a minute
  assert _midi_notes(out, 0) == [(i * quarter, (i + 1) * quarter, p) for i, p in enumerate(melody)]
  for voice in (1, 2, 3):
    notes = _midi_notes(out, voice)
    assert notes[0][0] == 0.0 and notes[-1][1] == pytest.approx(16 * quarter)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(notes, notes[1:]))  # no gap
  refused = subprocess.run(command[:-1] + ["--read=lstsq"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
  assert refused.returncode == 2 and "holds an inpainting network" in refused.stderr


def test_the_completion_tool_fills_bars_with_the_network_keeping_other_voices(trained_prior):
  workdir, _ = trained_prior
  config, params = complete.load_trained(workdir)
  grid = np.stack([np.repeat(p, 4) for _, p in four_voices(num_quarters=16)], 1).astype(float)
  bars = user_score.Bars.regular(len(grid))
  done = complete.complete_grid(config, params, grid, bars, fill_bars=["2"])
  assert done.fill.shape == grid.shape and done.fill[16:32].all() and not done.fill[:16].any()
  np.testing.assert_array_equal(done.pitches[~done.fill], grid[~done.fill])
  assert "Memory: 1 fully given bar-aligned window of the piece" in done.summary
  harmonised = complete.complete_grid(config, params, grid, bars, given_voices="SB")
  np.testing.assert_array_equal(harmonised.pitches[:, [0, 3]], grid[:, [0, 3]])
  assert harmonised.fill[:, [1, 2]].all() and np.isfinite(harmonised.pitches).all()


def test_the_quick_run_logs_no_xla_error_line(trained_prior):
  _, done = trained_prior
  assert xla_error_lines("I1203 a.cc:1] fine\nE1203 05:12:00.1  7 slow_operation_alarm.cc:73] "
                         "Constant folding\n") == ["E1203 05:12:00.1  7 slow_operation_alarm.cc:73]"
                                                   " Constant folding"]
  assert not xla_error_lines(done.stderr), xla_error_lines(done.stderr)
