"""TCN k-WTA applications: each analysis on made-up data where the answer is known."""

import importlib
import json
import os
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from music_runtime.files import dataset_cache
from tcn_wta.applications import analysis
from tcn_wta.applications import codes
from tcn_wta.applications import generation
from tcn_wta.applications import markov_codes
from tcn_wta.applications import probes
from tcn_wta.datasets import groove
from tcn_wta.datasets import maestro
from tcn_wta.datasets import representations
from tcn_wta.datasets import sequences
from tcn_wta.reporting import report
from tcn_wta.training import train
from tests.conftest import make_net, tiny_groove_config, write_fake_groove


def test_keep_top_n_matches_numpy_and_all_entries_give_the_code_back():
  code = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (3, 4, 5)))
  for n in (1, 3, 7):
    kept = np.asarray(codes.keep_top_n(jnp.asarray(code), n))
    for b in range(3):
      order = np.argsort(-np.abs(code[b]).ravel())[:n]
      expected = np.zeros(20)
      expected[order] = code[b].ravel()[order]
      np.testing.assert_array_equal(kept[b].ravel(), expected)
  np.testing.assert_array_equal(np.asarray(codes.keep_top_n(jnp.asarray(code), 20)), code)


def test_sparse_code_bytes():
  # 16 code steps (4 bits), 100 atoms (7 bits), float16 value: 27 bits per entry.
  assert codes.entry_bits(16, 100) == 27
  assert codes.sparse_code_bytes(16, 16, 100) == 54
  assert codes.sparse_code_bytes(1, 16, 100) == 4
  assert analysis.top_n_ns(16, 1) == [1, 2, 4, 8, 16]
  assert analysis.top_n_ns(16, 6) == [1, 2, 4, 8, 16, 32, 64, 96]


def _pieces(arrays, labels):
  return dataset_cache.Pieces(np.concatenate(arrays), np.array([len(a) for a in arrays]),
                              {name: np.array(v) for name, v in labels.items()})


def test_piece_mean_code_equals_encoding_each_window_alone():
  net = make_net(channels=5, atoms=7, patch=4, tcn=(6,))
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 8, 5)), 2)["params"]
  rng = np.random.default_rng(0)
  arrays = [rng.normal(size=(n, 5)).astype(np.float32) for n in (10, 3, 70)]
  pieces = _pieces(arrays, {"who": ["a", "b", "c"]})
  windows = codes.piece_windows(pieces, 32, 4)
  np.testing.assert_array_equal(windows.valid, [8, 32, 32, 4])  # the 3-step piece is dropped
  config = ml_collections.ConfigDict({"data": {"representation": "roll"}, "batch_size": 3})
  mean_code, raw, present = codes.piece_features(net, params, config, 2, windows)
  np.testing.assert_array_equal(present, [0, 2])
  for row, piece, pieces_windows in ((0, arrays[0][:8], [(0, 8)]),
                                     (1, arrays[2], [(0, 32), (32, 64), (64, 68)])):
    steps = [np.asarray(net.apply({"params": params}, jnp.asarray(piece[a:b][None]), 2,
                                  method=net.encode))[0] for a, b in pieces_windows]
    np.testing.assert_allclose(mean_code[row], np.concatenate(steps).mean(0), rtol=1e-5,
                               atol=1e-6)
    used = piece[:pieces_windows[-1][1]]
    np.testing.assert_allclose(raw[row], used.reshape(-1, 20).mean(0), rtol=1e-5, atol=1e-6)


def test_probe_separates_two_synthetic_styles_and_majority_is_the_baseline():
  rng = np.random.default_rng(0)
  labels = np.array(["swing"] * 30 + ["straight"] * 20)
  separable = np.where(labels[:, None] == "swing", 1.0, -1.0) + 0.1 * rng.normal(size=(50, 4))
  noise = rng.normal(size=(50, 4))
  result = probes.cross_validated({"good": separable, "noise": noise}, labels, folds=5)
  assert result["probe/good"]["mean"] == 1.0 and result["centroid/good"]["mean"] == 1.0
  assert result["majority"]["mean"] == pytest.approx(0.6)
  assert result["classes"] == 2 and result["pieces"] == 50 and result["left_out"] == 0
  # A class with fewer pieces than folds is left out; one class left: nothing to detect.
  assert probes.cross_validated({"x": noise[:7]}, np.array(["a"] * 5 + ["b"] * 2), 5) is None


@pytest.mark.parametrize("representation", ["drums", "roll"])
def test_corruption_drops_and_adds_exact_fractions(representation):
  rng = np.random.default_rng(0)
  window = np.zeros((64, 27 if representation == "drums" else 88), np.float32)
  cells = window[:, :9] if representation == "drums" else window
  cells[rng.random(cells.shape) < 0.2] = 1.0
  if representation == "drums":
    window[:, 9:18] = cells * 0.6
    window[:, 18:] = cells * 0.1
  played = window[:, :9] > 0.5 if representation == "drums" else window > 0.5
  out = representations.corrupt(window[None], representation, seed=3)[0]
  now = out[:, :9] > 0.5 if representation == "drums" else out > 0.5
  assert np.sum(played & ~now) == round(0.2 * played.sum())
  assert np.sum(now & ~played) == round(0.2 * played.sum())
  if representation == "drums":
    dropped = played & ~now
    assert np.all(out[:, 9:18][dropped] == 0) and np.all(out[:, 18:][dropped] == 0)
    np.testing.assert_allclose(out[:, 9:18][now & ~played], 0.6, rtol=1e-6)
  again = representations.corrupt(window[None], representation, seed=3)[0]
  np.testing.assert_array_equal(out, again)


def test_event_corruption_replaces_a_fifth_of_tokens():
  tokens = np.zeros((4, 1000), np.int16)
  out = representations.corrupt(tokens, "events", seed=0, channels=388)
  assert 0.17 < np.mean(out != 0) < 0.23 and out.max() < 388


def _bank(period=4):
  # 2 windows x 8 code steps, k = 1, 5 atoms; code step t of window w uses atom (w + t) % 5.
  atoms = np.array([[[(w + t) % 5] for t in range(8)] for w in range(2)])
  return markov_codes.CodeBank(atoms, np.ones_like(atoms, np.float32) * 2.0, 5, period)


def test_sampled_codes_are_training_steps_joined_by_seen_transitions():
  # Without bar positions every atom has a seen successor, so the chain never restarts.
  code = markov_codes.sample_code(_bank(period=1), 12, np.random.default_rng(0))
  assert code.shape == (12, 5)
  winners = np.argmax(code, axis=1)
  assert np.all(np.sum(code != 0, axis=1) == 1) and np.all(code.max(1) == 2.0)
  # In the bank every transition goes from atom a to atom a + 1 (mod 5).
  np.testing.assert_array_equal(winners[1:], (winners[:-1] + 1) % 5)
  # With 4 positions per bar, step i of the sample is a training step at position i % 4.
  code = markov_codes.sample_code(_bank(period=4), 12, np.random.default_rng(0))
  at_position = {p: {(w + t) % 5 for w in range(2) for t in range(p, 8, 4)} for p in range(4)}
  assert all(np.argmax(code[i]) in at_position[i % 4] for i in range(12))


def test_structured_code_repeats_sections_and_rejects_bad_structures():
  code, letters = markov_codes.structured_code(_bank(), "aaba", 2, np.random.default_rng(1))
  assert letters == ["A", "A", "B", "A"] and code.shape == (32, 5)
  assert markov_codes.repeated_sections_equal(code, letters, 8)
  changed = code.copy()
  changed[24, :] = 0
  assert not markov_codes.repeated_sections_equal(changed, letters, 8)
  with pytest.raises(ValueError, match="must be letters"):
    markov_codes.parse_structure("A-B")


def test_roll_and_event_outputs_become_the_notes_they_hold():
  roll = np.zeros((16, 88), np.float32)
  roll[2:6, 60 - 21] = 1.0
  roll[8:9, 64 - 21] = 1.0
  seq = sequences.roll_to_sequence(roll, 0.125)
  assert [(n.pitch, n.start_time, n.end_time) for n in seq.notes] == [(60, 0.25, 0.75),
                                                                       (64, 1.0, 1.125)]
  tokens = np.array([356 + 20, 60, 256 + 49, 128 + 60, 256 + 9])  # velocity, on, 0.5 s, off, 0.1 s
  logits = np.eye(388)[tokens] * 5.0
  config = ml_collections.ConfigDict({"representation": "events", "dataset": "maestro"})
  seq = representations.of(config).to_sequence(logits, config)
  assert [(n.pitch, n.start_time, n.end_time) for n in seq.notes] == [(60, 0.0, 0.5)]
  assert maestro.time_shift_seconds(tokens) == pytest.approx(0.6)


def _random_model(config_name, channels, tcn=(4,), atoms=12, k=3):
  config = importlib.import_module(f"configs.{config_name}").get_config()
  config.model.num_atoms, config.model.tcn_features = atoms, tcn
  config.model.k.k_start = config.model.k.k_end = k
  config.data.window, config.batch_size = 16, 4
  config.analysis.midi_size_windows = 4
  net = train.build_model(config, channels)
  params = train.create_state(config, net)["params"]
  return config, types.SimpleNamespace(net=net, params=params, k=k, step=0)


@pytest.mark.parametrize("config_name,channels", [("groove", 27), ("maestro", 388),
                                                  ("corpus", 88)])
def test_top_n_with_every_entry_is_the_full_reconstruction(config_name, channels):
  config, trained = _random_model(config_name, channels)
  rng = np.random.default_rng(0)
  if channels == 388:
    windows = rng.integers(0, 388, (8, 16)).astype(np.int16)
  else:
    windows = (rng.random((8, 16, channels)) < 0.2).astype(np.float32)
  recon, _ = analysis.reconstruction_and_cleaning(config, trained, windows, 4)
  top = analysis.top_n(config, trained, windows, 4)
  assert top["n"] == [1, 2, 4, 8, 12]  # 4 code steps x k = 3
  for name, value in recon["reconstruction"].items():
    assert top["quality"][-1][name] == pytest.approx(value, abs=2e-3)  # float16 values
  assert top["code_bytes_per_unit"][-1] > top["code_bytes_per_unit"][0] > 0
  assert top["midi_bytes_per_unit"] > 0


def test_analyze_and_generate_on_a_tiny_groove(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False, second_drummer=4)
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache", steps=4)
  config.analysis.folds = 2
  config.analysis.bank_windows = 8
  workdir = str(tmp_path / "run")
  with pytest.raises(FileNotFoundError, match="train first"):
    report.analyze(config, workdir)
  trained_run = train.train_and_evaluate(config, workdir)
  result = report.analyze(config, workdir)
  saved = json.load(open(tmp_path / "run" / "report.json"))
  assert saved["step"] == 4 and saved["k"] == 1
  assert saved["data"]["dataset"] == "groove" and saved["data"]["evaluated_split"] == "test"
  assert saved["data"]["source"] == os.path.abspath(config.data.root)
  assert saved["data"]["cache"].startswith(str(config.data.cache_dir))
  assert f"from {os.path.abspath(config.data.root)}" in open(tmp_path / "run" / "REPORT.md").read()
  provenance = saved["data_provenance"]
  assert provenance["kind"] == "groove" and len(provenance["sha256"]) == 64
  assert f"sha256 {provenance['sha256'][:12]}" in open(tmp_path / "run" / "REPORT.md").read()
  for name, value in trained_run.metrics["test"].items():
    if name != "loss":
      assert saved["reconstruction"][name] == pytest.approx(value, abs=1e-5)
  assert saved["cleaning"]["corrupted"]["hit_f1"] == pytest.approx(0.8, abs=0.02)
  drums = saved["generation"]["drums"]
  assert drums["bars"] == 8 and drums["hits_on_grid"] and drums["repeated_sections_equal"]
  assert saved["detection"]["drummer"]["classes"] == 2
  assert saved["detection"]["style"]["classes"] == 2  # "funk/groove2" counts as funk
  size = saved["model_size"]
  assert size["parameters"] == sum(int(np.prod(p.shape)) for p in
                                   jax.tree_util.tree_leaves(trained_run.state["params"]))
  assert size["checkpoint_bytes"] > size["parameter_bytes"]
  from tests.music_runtime.test_html_report import check_report_page  # pylint: disable=import-outside-toplevel
  check_report_page(str(tmp_path / "run"), ("original", "cleaned"))
  text = open(tmp_path / "run" / "REPORT.md").read()
  for claim in ("reconstructs music (3.3)", "cleaning", "top N", "structured drums",
                "drummer detection", "style map", "Performance RNN 25 MB"):
    assert claim in text
  for name in ("top_n.png", "reconstruction.png", "style_map_drummer.png", "audio/cleaned.wav",
               "audio/original.mid", "generated/drums_AABA_120bpm_seed0.mid"):
    assert (tmp_path / "run" / name).exists(), name
  assert result["generation"] == saved["generation"]

  config.generate.structure, config.generate.bars_per_section = "ABAB", 1
  config.generate.quantize = True
  generated = generation.from_checkpoint(config, workdir)["drums"]
  assert generated["bars"] == 4 and generated["hits_on_grid"] and generated[
      "repeated_sections_equal"]
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.midi_file_to_note_sequence(generated["midi"])
  step = groove.step_seconds(120.0)
  assert seq.tempos[0].qpm == pytest.approx(120.0)
  assert (seq.time_signatures[0].numerator, seq.time_signatures[0].denominator) == (4, 4)
  # Quantized: every hit starts exactly on a 16th (up to MIDI ticks).
  assert all(abs(n.start_time / step - round(n.start_time / step)) < 0.02 for n in seq.notes)


def test_display_roll_of_drums_is_hits_times_velocity():
  out = np.zeros((4, 27), np.float32)
  out[1, 0], out[1, 9], out[2, 9] = 0.9, 0.5, 0.8  # step 2 has velocity but no hit
  shown = representations.DRUMS.display(out, None)
  assert shown[1, 0] == 0.5 and shown.sum() == 0.5


@pytest.mark.parametrize("name", sorted(representations.REPRESENTATIONS))
def test_each_representation_round_trips_and_scores_a_perfect_reconstruction(name):
  rep = representations.get(name)
  rng = np.random.default_rng(0)
  config = ml_collections.ConfigDict({"representation": name, "frames_per_second": 16,
                                      "dataset": "maestro" if name != "drums" else "groove"})
  if rep.token_ids:
    window, channels = rng.integers(0, 388, 64), 388 if name == "events" else 1
  else:
    channels = 27 if name == "drums" else 88
    window = (rng.random((64, channels)) < 0.1).astype(np.float32)
    if name == "drums":
      window[:, 9:18] = window[:, :9] * 0.8
  x = rep.to_inputs(window[None], channels)
  assert x.shape == (1, 64, channels) and x.dtype == jnp.float32
  assert rep.main_metric in rep.metrics(x, x)
  assert float(rep.metrics(x, x)[rep.main_metric]) == pytest.approx(1.0)
  assert float(rep.loss(x, x)) <= float(rep.loss(jnp.zeros_like(x), x))
  assert rep.display(window, config).ndim == 2
  assert rep.seconds_of(window, config) > 0
  with pytest.raises(ValueError, match="Unknown representation 'midi'"):
    representations.get("midi")


def test_grouped_cross_validation_keeps_each_group_on_one_side():
  # 20 pieces, 2 performances each of 10 titles; the feature is the title itself and the label a
  # random property of the title. Ungrouped folds test on titles seen in training (near perfect);
  # grouped folds never do, so the title-as-feature probe is at chance.
  rng = np.random.default_rng(0)
  titles = np.repeat(np.arange(10), 2)
  title_label = np.array(["a", "b"] * 5)
  labels = title_label[titles]
  features = {"title": np.eye(10)[titles] + 0.01 * rng.normal(size=(20, 10))}
  ungrouped = probes.cross_validated(features, labels, folds=2, seed=0)
  grouped = probes.cross_validated(features, labels, folds=2, seed=0, groups=titles)
  assert ungrouped["probe/title"]["mean"] >= 0.85 and not ungrouped["grouped"]
  assert grouped["probe/title"]["mean"] <= 0.6 and grouped["grouped"]


def test_centroid_distances_say_whether_the_middle_class_lies_between():
  rng = np.random.default_rng(0)
  labels = np.repeat(np.array(["early", "middle", "late"]), 20)
  centre = {"early": 0.0, "middle": 1.0, "late": 3.0}
  features = np.stack([[centre[y] + 0.05 * rng.normal(), rng.normal()] for y in labels])
  ordered = probes.centroid_distances(features, labels, ["early", "middle", "late"])
  assert ordered["middle_between"] and ordered["pieces"] == {"early": 20, "middle": 20, "late": 20}
  d = ordered["distances"]
  assert d["early|late"] > d["middle|late"] > d["early|middle"]
  assert not probes.centroid_distances(features, labels, ["middle", "early", "late"])[
      "middle_between"]


def test_code_blending_generators_on_a_made_up_bank():
  from tcn_wta.applications import code_blending  # pylint: disable=import-outside-toplevel
  bank = _bank(period=4)  # 2 windows x 8 steps, k = 1, 5 atoms; window w step t: atom (w + t) % 5
  dense = code_blending.dense_codes(bank)
  assert dense.shape == (2, 8, 5) and np.all(np.sum(dense != 0, axis=-1) == 1)
  assert np.argmax(dense[1, 3]) == 4 and dense[1, 3, 4] == 2.0
  np.testing.assert_array_equal(code_blending.most_similar(dense), [1, 0])  # never itself
  mixed = code_blending.interpolate(dense[0], dense[1], k=1, weight=0.25)
  assert np.all(np.sum(mixed != 0, axis=-1) == 1)   # cut back to k = 1 per step
  np.testing.assert_allclose(mixed.max(axis=-1), 1.5)  # the heavier window's atom wins
  np.testing.assert_array_equal(np.argmax(mixed, -1), np.argmax(dense[0], -1))
  a = np.zeros((4, 6), np.float32)
  a[:, 0], a[:2, 1], a[3, 2] = 1.0, 1.0, 1.0      # uses 3 atoms: swaps its 1 most used (0)
  b = np.zeros((4, 6), np.float32)
  b[:, 5] = 3.0
  swapped = code_blending.swap_atoms(a, b)
  assert not swapped[:, 0].any() and np.all(swapped[:, 5] == 3.0)
  np.testing.assert_array_equal(swapped[:, 1:3], a[:, 1:3])


def test_novelty_counts_near_copies_of_training_bars():
  from tcn_wta.applications import code_blending  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  training = rng.random((4, 8, 3)) < 0.4             # 8 bars of 4 steps
  copies = training[:2].copy()                        # 4 bars, each a training bar
  np.testing.assert_array_equal(code_blending.nearest_bar_f1(copies, training, 4), 1.0)
  assert code_blending.novelty(copies, training, 4) == (0.0, 1.0)
  fresh = np.zeros((1, 4, 3), bool)
  fresh[0, :, :] = True                                # all cells on: no training bar is it
  new, nearest = code_blending.novelty(fresh, training, 4)
  assert new == 1.0 and nearest < 0.9
  assert code_blending.novelty(np.zeros((1, 4, 3), bool), training, 4) == (None, None)
  same = code_blending.compare(training, training, training, 4)
  assert same["row_share_distance"] == 0.0 and same["novelty"] == 0.0
