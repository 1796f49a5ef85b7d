"""The inpainting network's program: its config checks, a small network trained on the JSB
chorales through the binary (its report, evaluation and the completion tool), its best
parameters. The modules' own tests are in tests/kanerva_music/prior/."""

import json
import os
import shutil
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from configs import chorales as chorales_config
from kanerva_music.tools import complete
from kanerva_music.tools import user_score
from kanerva_music.training import config_checks
from music_runtime.files import metric_writing
from tests.kanerva_music.conftest import ROOT
from tests.kanerva_music.conftest import prior_command
from tests.conftest import four_voices
from tests.conftest import write_score
from tests.music_runtime.test_html_report import check_report_page


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


def test_a_small_trained_network_beats_holding_the_last_chord(trained_prior):
  workdir, stdout = trained_prior
  report = json.load(open(os.path.join(workdir, "report.json")))
  prior, base = report["prior"], report["baselines"]
  for mask in ("random_50", "soprano", "outer"):
    ours = prior["complete"][mask]["one_pass"]["novel"]["acc_exact"]
    assert ours > base[mask]["hold_last_chord"]["novel"]["acc_exact"], mask
  # the one-pass argmax is what exact accuracy rewards; a sample scores lower per entry
  r50 = prior["complete"]["random_50"]
  assert r50["gibbs"]["novel"]["acc_exact"] < r50["one_pass"]["novel"]["acc_exact"]
  assert "Best validation NLL:" in stdout


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


def test_the_report_keeps_the_parameters_with_the_lowest_validation_nll(trained_prior):
  workdir, _ = trained_prior
  best = json.load(open(os.path.join(workdir, "best.json")))
  logged = dict(metric_writing.read_scalars(workdir)["validation/nll_per_hidden_note"])
  assert best["step"] == min(logged, key=logged.get)
  assert best["validation_nll"] == pytest.approx(logged[best["step"]], rel=1e-6)
  assert sorted(os.listdir(os.path.join(workdir, "best"))) == [str(best["step"])]


def test_the_report_has_every_section_and_plays_the_harmonisation(trained_prior):
  workdir, _ = trained_prior
  report = json.load(open(os.path.join(workdir, "report.json")))
  config = chorales_config.get_config("prior_quick")
  assert set(report["prior"]["complete"]) == set(config.eval.prior_masks)
  for mask, by_read in report["prior"]["complete"].items():
    sampled = mask in config.eval.gibbs_masks  # Gibbs, the listening read, under these only
    assert set(by_read) == ({"one_pass", "gibbs"} if sampled else {"one_pass"}), mask
  code = report["prior"]["code_length"]
  assert 0 < code["bits_per_note"] < 8 and len(code["bits_per_note_by_order"]) == 2
  assert set(report["baselines"]["soprano"]) == {"hold_last_chord", "nearest_train",
                                                 "parallel_motion"}
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## Targets" in text and "a test chorale's melody harmonised" in text
  check_report_page(workdir, ["the melody", "one pass", "Gibbs sample", "Bach, as written"])


def test_evaluation_reproduces_the_report_and_leaves_training_alone(trained_prior, tmp_path):
  workdir, _ = trained_prior
  copy = tmp_path / "copy"
  shutil.copytree(workdir, copy)
  config_bytes = open(copy / "config.json", "rb").read()
  done = subprocess.run(prior_command(copy, "--mode=eval"), cwd=ROOT, capture_output=True,
                        text=True, timeout=600)
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


def test_a_reader_waits_for_best_json_to_follow_the_best_parameters(tmp_path):
  import threading  # pylint: disable=import-outside-toplevel
  from kanerva_music.prior import train as prior_train  # pylint: disable=import-outside-toplevel
  from music_runtime.files import atomic  # pylint: disable=import-outside-toplevel
  from music_runtime.training import checkpointing  # pylint: disable=import-outside-toplevel
  params = {"w": jnp.arange(3.0)}
  keeper = prior_train.BestKeeper(str(tmp_path))
  assert keeper.offer(1, 2.0, params)
  # The trainer's next best: best/ holds step 2 before best.json says so.
  mngr = checkpointing.manager(str(tmp_path), keep=1, folder=prior_train.BEST_FOLDER)
  checkpointing.save(mngr, 2, {"w": jnp.arange(3.0) + 1}, force=True)
  mngr.wait_until_finished()
  mngr.close()
  record = str(tmp_path / prior_train.BEST_RECORD)
  later = threading.Timer(0.5, atomic.write_json, (record, {"step": 2, "validation_nll": 1.0}))
  later.start()
  restored, best = prior_train.restore_best(str(tmp_path), params)
  later.join()
  assert best["step"] == 2 and restored["w"].tolist() == [1.0, 2.0, 3.0]
  atomic.write_json(record, {"step": 7, "validation_nll": 1.0})  # never follows
  with pytest.raises(FileNotFoundError, match="names step 7 but .* holds 2"):
    prior_train.restore_best(str(tmp_path), params, settle_seconds=0.3)
