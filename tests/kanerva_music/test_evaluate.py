"""Evaluation metrics, masks, the report, MIDI/WAV output and the completion tool."""

import json
import os
import wave

import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.data import episodes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.memory import dkm
from kanerva_music.reporting import music_io
from kanerva_music.reporting import report
from kanerva_music.tools import complete
from kanerva_music.training import train
from music_runtime.files import workdir_utils
from music_runtime.running import config_checks
from tests.conftest import tiny_config


def test_masks_hide_the_right_steps_and_fractions():
  rng = np.random.default_rng(0)
  half = evaluate.observation_mask("half", 3, 32, rng)
  assert half.shape == (3, 128)
  step = np.arange(128) // 4
  np.testing.assert_array_equal(half[1], step < 16)
  np.testing.assert_array_equal(evaluate.observation_mask("three_quarters", 1, 32, rng)[0],
                                step < 8)
  random = evaluate.observation_mask("random_75", 5, 32, rng)
  np.testing.assert_array_equal((random == 0).sum(axis=1), [96] * 5)
  assert not np.array_equal(random[0], random[1])  # one mask per memory
  with pytest.raises(ValueError, match="Unknown mask 'left'"):
    evaluate.observation_mask("left", 1, 32, rng)


def test_iteration_metrics_against_hand_counts():
  target = episodes.normalise(np.full((1, 1, 4), 60.0))  # [M, T, C]
  semitone = 2 / 45
  # One iterate: errors of 0, 1, 2 and 3 semitones on the four entries; entry 3 is not scored.
  iterate = target + semitone * np.array([0, 1, 2, 3])
  scored = np.array([True, True, True, False])
  metrics = evaluate.iteration_metrics(jnp.asarray(target), jnp.asarray(iterate[None]),
                                       jnp.asarray(scored))
  assert float(metrics["acc_exact"][0]) == pytest.approx(1 / 3)
  assert float(metrics["acc_1"][0]) == pytest.approx(2 / 3)
  assert float(metrics["acc_2"][0]) == pytest.approx(1.0)
  assert float(metrics["mse"][0]) == pytest.approx((0 + 1 + 4) * semitone**2 / 3, rel=1e-5)


@pytest.mark.parametrize("read", ["lstsq", "svd"])
def test_unmasked_read_equals_zero_filled_full_read(read):
  rng = np.random.default_rng(1)
  mean = rng.normal(size=(1, 4, 16)).astype(np.float32)
  memories = {"memory": dkm.Memory(mean=mean, cov=np.eye(4, dtype=np.float32)[None]),
              "values": np.zeros((1, 3, 16), np.float32)}
  x = rng.normal(size=(1, 3, 16)).astype(np.float32)
  mask = np.ones((1, 16), np.float32)
  mask[:, 8:] = 0
  config = tiny_config("").model
  config.read_method = read  # the unmasked read uses the model's headline read
  _, iterates = evaluate.read_and_score(memories, x, x, mask, num_iters=2, method="unmasked",
                                        model_config=config_checks.freeze(config))
  zero_filled = np.where(mask[:, None] != 0, x, 0)
  expected = dkm.iterate_read(dkm.Memory(mean[0], np.eye(4, dtype=np.float32)), zero_filled[0],
                              None, num_iters=2, obs_noise_std=config.obs_noise_std,
                              method=read)
  np.testing.assert_allclose(np.asarray(iterates[0]), zero_filled[0])
  np.testing.assert_allclose(np.asarray(iterates[1:]), np.asarray(expected), rtol=1e-5,
                             atol=1e-6)


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


@pytest.fixture
def trained_workdir(tiny_chorale_npz, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("run"))
  config = tiny_config(tiny_chorale_npz, 2)
  config.data.episode_steps = 32  # 2 bars, as the completion tool and figures expect
  config.eval.num_iters = 3
  result = train.train_and_evaluate(config, workdir)
  return config, workdir, result


def test_report_has_every_section_and_files(trained_workdir):
  config, workdir, result = trained_workdir
  out = report.write_report(config, workdir, result)
  saved = json.load(open(os.path.join(workdir, "report.json")))
  assert saved["elbo_bits_per_dim"] == result.elbo_bits_per_dim
  assert set(saved["denoise_by_read"]) == set(dkm.READ_METHODS)
  assert saved["denoise"] == saved["denoise_by_read"][config.model.read_method]
  for mask_name in evaluate.MASKS:
    assert set(saved["baselines"][mask_name]) == set(baselines.COMPLETION_BASELINES)
    for by_query in saved["baselines"][mask_name].values():
      assert set(by_query) == {"recall", "novel"}
      assert all(0 <= by_query[q]["acc_exact"] <= by_query[q]["acc_2"] <= 1 for q in by_query)
    # Nearest stored episode recalls every stored episode exactly, whatever the mask.
    assert saved["baselines"][mask_name]["nearest_stored"]["recall"]["acc_exact"] == 1.0
  assert set(saved["baselines"]["denoise"]) == set(baselines.DENOISE_BASELINES)
  assert saved["baselines"]["denoise"]["cue"]["acc_exact"] == pytest.approx(
      saved["denoise"]["acc_exact"][0], abs=1e-6)
  half = saved["complete"]["half"][config.model.read_method]
  assert saved["memory_use"]["half_exact_stored_minus_unseen"] == pytest.approx(
      half["recall"]["acc_exact"][-1] - half["novel"]["acc_exact"][-1])
  assert saved["memory_use"]["kl_memory_per_dim"] > 0
  assert saved["config_summary"]["prior_cov"] == config.model.prior_cov
  assert saved["config_summary"]["read"] == config.model.read_method
  assert saved["config_summary"]["sigma_xi"] == config.model.obs_noise_std
  assert saved["config_summary"]["data_source"] == result.data_source.line()
  assert saved["data_provenance"] == result.data_source.record()
  assert saved["attention"]["beta"] in evaluate.ATTENTION_BETAS
  for key in ("capacity_curves", "capacity_curves_same_chorale"):
    curves = saved[key]
    # The trained K = 4 on the independent sets (the storage frontier's) is read at every
    # precision; K = 8 and the same-chorale sets at float32 only.
    lower = [f"{r}@{p}" for r in ("lstsq", "attention") for p in ("bfloat16", "int8")
             if key == "capacity_curves"]
    assert set(curves) == {"lstsq", "attention", "readout", "nearest_stored",
                           "modern_hopfield", *lower}
    for read in ("lstsq", "attention", "readout", *lower):
      assert set(curves[read]) == ({"4"} if "@" in read else {"4", "8"})
      for by_size in curves[read].values():
        for by_task in by_size.values():
          assert set(by_task) == ({"half"} if "@" in read else
                                  {"half", "three_quarters", "denoise"})
          assert all(0 <= v["acc_exact"] <= 1 for v in by_task.values())
  # Bytes: C = 32 values per episode; K = 4 rows of 32 float32 values; int8 adds row scales.
  num_cols = 4 * config.data.episode_steps
  assert saved["storage"]["list_pitch_bytes"]["bytes_per_episode"]["8"] == num_cols
  assert saved["storage"]["list_float32"]["bytes_per_episode"]["8"] == 4 * num_cols
  assert saved["storage"]["dkm_lstsq_K4_float32"]["bytes"]["2"] == 4 * num_cols * 4
  assert saved["storage"]["dkm_lstsq_K4_int8"]["bytes"]["2"] == 4 * num_cols + 4 * 4
  assert saved["storage"]["dkm_attention_K4_float32"]["bytes"]["8"] == (4 + 8) * num_cols * 4
  assert not saved["storage"]["dkm_lstsq_K4_float32"]["full_rank"]
  assert saved["frontier"]["list_lzma"]["8"]["half"]["acc_exact"] == 1.0
  assert (saved["frontier"]["dkm_lstsq_K4_float32"]["2"]["half"]["acc_exact"]
          == saved["capacity_curves"]["lstsq"]["4"]["2"]["half"]["acc_exact"])
  # 4 KB hold 4096 / 32 = 128 > 8 episodes as pitch bytes: every measured T.
  assert saved["budget"]["4096"]["list_pitch_bytes"] == {
      "largest_t": 8, "method": "list_pitch_bytes", "measured_max_t": 8}
  assert set(saved["capacity_curves"]["lstsq"]["4"]) == {"2", "4", "8"}
  assert saved["capacity_curves"]["nearest_stored"]["all"]["8"]["half"]["acc_exact"] == 1.0
  assert set(saved["complete"]) == set(evaluate.MASKS)
  for by_method in saved["complete"].values():
    assert set(by_method) == set(evaluate.METHODS)
    for by_query in by_method.values():
      for lists in by_query.values():
        assert all(len(lists[m]) == config.eval.num_iters + 1 for m in evaluate.METRICS)
  assert set(saved["capacity"]) == {str(t) for t in evaluate.CAPACITY_SIZES}
  assert saved["timing"]["train_seconds"] == out["timing"]["train_seconds"] > 0
  # Iteration 0 of denoising is the cue: x + N(0, 0.1^2), so its MSE is about 0.01.
  assert saved["denoise"]["mse"][0] == pytest.approx(0.01, rel=0.1)
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "0.76 +- 0.002" in text and "nan" not in text.lower()
  assert f"sha256 {saved['data_provenance']['sha256'][:12]}" in text
  assert "baseline: hold_last_chord" in text and "baseline: modern_hopfield" in text
  _check_html_report(workdir, ("denoise", "complete"))
  # The completion tool reads with the report's best half-masked read of stored episodes.
  half_all = saved["complete"]["half"]
  best = max(dkm.READ_METHODS, key=lambda r: half_all[r]["recall"]["acc_exact"][-1])
  assert half_all[complete.best_read(workdir, config)]["recall"]["acc_exact"][-1] == (
      half_all[best]["recall"]["acc_exact"][-1])
  assert "## Storage: recall against bytes" in text
  for name in ("fig2_denoise.png", "fig3_complete.png", "fig4_continue.png", "capacity.png",
               "frontier.png",
               "audio/complete_output.mid", "audio/complete_output.wav"):
    assert os.path.getsize(os.path.join(workdir, name)) > 100
    assert name in text


def write_score(path, parts, fmt="midi"):
  from music21 import note, stream  # pylint: disable=import-outside-toplevel
  score = stream.Score()
  for name, pitches in parts:
    part = stream.Part()
    part.partName = name
    for p in pitches:
      part.append(note.Note(p, quarterLength=1))
    score.insert(0, part)
  score.write(fmt, fp=str(path))


def four_voices(num_quarters=16, rng=None):
  rng = rng or np.random.default_rng(0)
  centres = (72, 64, 55, 45)
  return [(name, [int(c + rng.integers(-3, 4)) for _ in range(num_quarters)])
          for name, c in zip(("Soprano", "Alto", "Tenor", "Bass"), centres)]


@pytest.mark.parametrize("fmt,suffix", [("midi", "mid"), ("musicxml", "musicxml")])
def test_completion_tool_keeps_given_steps_and_fills_the_rest(trained_workdir, tmp_path, fmt,
                                                              suffix):
  config, workdir, result = trained_workdir
  source = tmp_path / f"mine.{suffix}"
  write_score(source, four_voices(), fmt)
  loaded_config, params = complete.load_trained(workdir)
  grid, bars = complete.read_voices(str(source))
  assert grid.shape == (64, 4) and bars == complete.Bars(64, 16, 0)
  to_fill = complete.fill_mask(bars, loaded_config.data.episode_steps)
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
  grid, bars = complete.read_voices(str(source))
  # Bars 3 and 4 are a whole 2-bar window: bar 3 is read with bar 2 before it, bar 4 with bar 5.
  fill, reads = complete.plan_reads(bars, 32, np.isfinite(grid).sum(1), fill_bars=["3", "4"])
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
  with pytest.raises(complete.CompletionInputError, match="nothing is given in the window"):
    complete.complete_grid(config, params, grid, bars, fill_bars=["3", "4", "5"],
                           train_pool=result.pools["train"])
  unobserved = complete.complete_grid(config, params, grid, bars, fill_bars=["3", "4", "5"],
                                      train_pool=result.pools["train"], allow_unobserved=True)
  assert np.isfinite(unobserved.pitches).all()


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
  grid, bars = complete.read_voices(str(path))
  assert bars == complete.Bars(40, 12, 4) and (bars.first, bars.last) == (0, 3)
  np.testing.assert_array_equal(np.flatnonzero(complete.fill_mask(bars, 32, fill_bars=["2"])),
                                range(16, 28))
  np.testing.assert_array_equal(np.flatnonzero(complete.fill_mask(bars, 32, fill_bars=["0"])),
                                range(4))
  # The default fill tiles windows from bar 1's downbeat (steps 20-35 of window 4-35); the
  # pickup is kept.
  np.testing.assert_array_equal(np.flatnonzero(complete.fill_mask(bars, 32)), range(20, 36))
  with pytest.raises(complete.CompletionInputError, match=r"bar\(s\) \[4\] outside .* bars 0-3"):
    complete.fill_mask(bars, 32, fill_bars=["4"])


def test_fill_bars_and_bad_fill_steps():
  bars = complete.Bars(64)
  np.testing.assert_array_equal(np.flatnonzero(complete.fill_mask(bars, 32, fill_bars=["3"])),
                                range(32, 48))
  np.testing.assert_array_equal(
      np.flatnonzero(complete.fill_mask(complete.Bars(32), 32, fill_steps="24-31")), range(24, 32))
  with pytest.raises(complete.CompletionInputError, match="--fill_steps=30-40"):
    complete.fill_mask(complete.Bars(32), 32, fill_steps="30-40")
  with pytest.raises(complete.CompletionInputError, match=r"bar\(s\) \[99\] outside .* bars 1-4"):
    complete.fill_mask(bars, 32, fill_bars=["3", "99"])
  with pytest.raises(complete.CompletionInputError, match="expected bar numbers 1-4"):
    complete.fill_mask(bars, 32, fill_bars=["x"])
  with pytest.raises(complete.CompletionInputError, match="--fill_steps=a-b"):
    complete.fill_mask(complete.Bars(32), 32, fill_steps="a-b")


def test_completion_tool_input_errors(tmp_path, tiny_chorale_npz):
  three = tmp_path / "three.mid"
  write_score(three, four_voices()[:3])
  with pytest.raises(complete.CompletionInputError, match="has 3 parts; expected four voices"):
    complete.read_voices(str(three))
  high = tmp_path / "high.mid"
  voices = four_voices()
  voices[0] = ("Soprano", [84] + voices[0][1][1:])
  write_score(high, voices)
  with pytest.raises(complete.CompletionInputError, match=r"1 note\(s\) outside.*soprano bar 1 C6"):
    complete.read_voices(str(high))
  with pytest.raises(complete.CompletionInputError, match="no such file"):
    complete.read_voices(str(tmp_path / "missing.mid"))
  untrained = tmp_path / "untrained"
  workdir_utils.write_config_json(tiny_config(tiny_chorale_npz), str(untrained))
  with pytest.raises(complete.CompletionInputError, match="untrained"):
    complete.load_trained(str(untrained))


def test_a_tiny_trained_memory_recalls_stored_episodes_better_than_unseen(trained_workdir):
  """The default model (U0 fixed, posterior read address) with the lstsq read: half-masked
  stored episodes come back far better than unseen ones, and better than holding the last
  chord."""
  config, workdir, result = trained_workdir
  saved_path = os.path.join(workdir, "report.json")
  if not os.path.exists(saved_path):
    report.write_report(config, workdir, result)
  saved = json.load(open(saved_path))
  half = saved["complete"]["half"]["lstsq"]
  recall, novel = half["recall"]["acc_exact"][-1], half["novel"]["acc_exact"][-1]
  assert recall > novel + 0.2, (recall, novel)
  assert recall > saved["baselines"]["half"]["hold_last_chord"]["recall"]["acc_exact"]
  for by_query in saved["complete"]["half"].values():
    for lists in by_query.values():
      assert all(np.isfinite(lists[m]).all() for m in evaluate.METRICS)


def _check_html_report(workdir, listening):
  """REPORT.html: every file it references exists, and a player per listening WAV."""
  from music_runtime.files import html_report  # pylint: disable=import-outside-toplevel
  page = open(os.path.join(workdir, "REPORT.html")).read()
  refs = html_report.referenced_files(page)
  assert all(os.path.exists(os.path.join(workdir, r)) for r in refs), refs
  for name in listening:
    assert f'<h4>{name}</h4>' in page
  assert page.count("<audio ") == sum(r.endswith(".wav") for r in refs) > 0
  from tests.music_runtime import test_html_report  # pylint: disable=import-outside-toplevel
  if test_html_report.browser_available():  # the real page, opened as a reader would
    test_html_report.check_in_browser(os.path.join(workdir, "REPORT.html"),
                                      os.path.join(workdir, "..", "report_page.png"))
