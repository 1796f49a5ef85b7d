"""TCN k-WTA: model facts, the Groove pipeline, cache robustness and training/resume."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from music_runtime.training import sharding
from tcn_wta import model as model_lib
from tcn_wta.datasets import data
from tcn_wta.datasets import groove
from tcn_wta.training import train
from tests.conftest import make_net, tiny_groove_config, write_fake_groove

SHARED_GROOVE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                             "groove")


def test_kwta_keeps_exactly_k_per_code_step():
  net = make_net()
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 24, 5))
  params = net.init(jax.random.PRNGKey(1), x, 2)
  for k in (1, 2, 5):
    _, code = net.apply(params, x, k)
    assert code.shape == (3, 6, 7)
    np.testing.assert_array_equal(np.sum(np.asarray(code) != 0, axis=-1), k)
    dense = net.apply(params, x, method=net.encode_dense)
    # The survivors are the k largest dense activations.
    kth = np.sort(np.asarray(dense), axis=-1)[..., -k][..., None]
    assert np.all(np.asarray(dense)[np.asarray(code) != 0].min() >= kth.min())
    np.testing.assert_array_equal(np.asarray(code)[np.asarray(code) != 0],
                                  np.asarray(dense)[np.asarray(code) != 0])


def test_decoding_a_one_hot_code_gives_the_atom_at_its_position():
  net = make_net()
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 16, 5)), 1)
  atoms = np.asarray(params["params"]["dictionary"])
  for step, atom in [(0, 3), (2, 6)]:
    code = np.zeros((1, 4, 7), np.float32)
    code[0, step, atom] = 2.0
    out = np.asarray(net.apply(params, jnp.asarray(code), method=net.decode))[0]
    expected = np.zeros((16, 5), np.float32)
    expected[4 * step:4 * step + 4] = 2.0 * atoms[atom]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_any_length_multiple_of_patch_and_clear_error_otherwise():
  net = make_net()
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 16, 5)), 1)
  for length in (4, 12, 40):
    recon, _ = net.apply(params, jnp.ones((2, length, 5)), 2)
    assert recon.shape == (2, length, 5)
  with pytest.raises(ValueError, match="Length 10 is not a multiple of the patch size 4"):
    net.apply(params, jnp.ones((1, 10, 5)), 1)


def test_encoder_is_causal_before_the_atom_layer():
  net = make_net()
  x = jax.random.normal(jax.random.PRNGKey(2), (1, 16, 5))
  params = net.init(jax.random.PRNGKey(1), x, 1)
  dense = np.asarray(net.apply(params, x, method=net.encode_dense))
  changed = x.at[0, 12:].set(0.0)  # the last code step's input only
  dense2 = np.asarray(net.apply(params, changed, method=net.encode_dense))
  np.testing.assert_allclose(dense[0, :3], dense2[0, :3], rtol=1e-6)
  assert not np.allclose(dense[0, 3], dense2[0, 3])


def test_k_schedule_decays_to_its_floor():
  from ml_collections import ConfigDict  # pylint: disable=import-outside-toplevel
  schedule = ConfigDict(dict(k_start=95, k_end=75, k_decrement=5, decay_every=10))
  assert [model_lib.k_at_step(schedule, s) for s in (0, 9, 10, 25, 40, 1000)] == [
      95, 95, 90, 85, 75, 75]


def test_groove_tensor_midi_round_trip_is_identity_on_the_grid(tmp_path):
  import note_seq  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  tensor = np.zeros((64, groove.CHANNELS), np.float32)
  hits = rng.random((64, groove.NUM_CLASSES)) < 0.2
  tensor[:, :9] = hits
  tensor[:, 9:18] = hits * rng.integers(1, 128, hits.shape) / 127
  tensor[:, 18:] = hits * rng.uniform(-0.45, 0.45, hits.shape)
  path = str(tmp_path / "drums.mid")
  note_seq.sequence_proto_to_midi_file(groove.tensor_to_sequence(tensor, 110.0), path)
  back = groove.sequence_to_tensor(note_seq.midi_file_to_note_sequence(path), 110.0)
  back = np.pad(back, ((0, 64 - len(back)), (0, 0)))
  np.testing.assert_array_equal(back[:, :18], tensor[:, :18])
  # Offsets survive up to MIDI's tick resolution (220 ticks per quarter = 55 per step).
  np.testing.assert_allclose(back[:, 18:], tensor[:, 18:], atol=1 / 55 + 1e-6)


def test_loudest_note_of_a_class_wins_a_step():
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  step = groove.step_seconds(120.0)
  seq.notes.add(pitch=38, velocity=40, start_time=0.0, end_time=0.1, is_drum=True)
  seq.notes.add(pitch=40, velocity=100, start_time=0.1 * step, end_time=0.2, is_drum=True)
  tensor = groove.sequence_to_tensor(seq, 120.0)
  assert tensor[0, 1] == 1 and tensor[0, 10] == pytest.approx(100 / 127)
  assert tensor[0, 19] == pytest.approx(0.1, abs=1e-5)


def test_corrupt_midi_is_skipped_and_logged_and_cache_is_reused(tmp_path, caplog, monkeypatch):
  write_fake_groove(tmp_path / "groove")
  config = tiny_groove_config(tmp_path / "groove", tmp_path / "cache")
  with caplog.at_level("WARNING"):
    splits, channels = data.load_dataset(config.data)
  assert "4_rock_100_beat_4-4.mid" in caplog.text
  assert channels == 27
  assert {s: len(p) for s, p in splits.items()} == {"train": 2, "validation": 1, "test": 1}
  assert list(splits["train"].labels["style"]) == ["rock", "rock"]
  # The same, unchanged folder reuses the cache: nothing is converted again.
  def no_conversion(*args):
    raise AssertionError(f"converted again: {args}")
  monkeypatch.setattr(groove, "load_file", no_conversion)
  again, _ = data.load_dataset(config.data)
  monkeypatch.undo()
  np.testing.assert_array_equal(again["train"].data, splits["train"].data)
  # A changed folder is another source: it is converted anew (here it has lost its metadata).
  os.remove(tmp_path / "groove" / "info.csv")
  with pytest.raises(FileNotFoundError, match="no Groove MIDI Dataset here"):
    data.load_dataset(config.data)


def test_missing_groove_says_where_to_get_it(tmp_path):
  config = tiny_groove_config(tmp_path / "nowhere", tmp_path / "cache")
  with pytest.raises(FileNotFoundError, match="groove-v1.0.0-midionly.zip"):
    data.load_dataset(config.data)


def test_training_projects_atoms_and_resume_equals_straight_run(tmp_path):
  write_fake_groove(tmp_path / "groove", bad_file=False)
  straight = train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 4),
                                      str(tmp_path / "a"))
  train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 2),
                           str(tmp_path / "b"))
  resumed = train.train_and_evaluate(tiny_groove_config(tmp_path / "groove", tmp_path / "c", 4),
                                     str(tmp_path / "b"))
  for a, b in zip(jax.tree_util.tree_leaves(straight.state),
                  jax.tree_util.tree_leaves(resumed.state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  atoms = np.asarray(straight.state["params"]["dictionary"])
  assert np.all(np.sqrt(np.sum(atoms**2, axis=(1, 2))) <= 1 + 1e-6)
  assert straight.k == 1
  for split in ("validation", "test"):
    assert 0 <= straight.metrics[split]["hit_f1"] <= 1


@pytest.mark.skipif(not os.path.exists(SHARED_GROOVE), reason="needs ../shared/data")
def test_real_groove_files_convert():
  rows = groove.read_info(SHARED_GROOVE)
  assert len(rows) > 1000 and all(r["time_signature"] == "4-4" for r in rows)
  tensor = groove.load_file(SHARED_GROOVE, rows[0])
  assert tensor.shape[1] == 27 and tensor[:, :9].sum() > 50
  assert np.all(np.abs(tensor[:, 18:]) <= 0.5)


def write_piano_midi(path, rng, num_notes=40):
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  seq.tempos.add(qpm=120)
  t = 0.0
  for _ in range(num_notes):
    t += float(rng.choice([0.05, 0.12, 0.3]))
    seq.notes.add(pitch=int(rng.integers(40, 90)), velocity=int(rng.integers(20, 120)),
                  start_time=t, end_time=t + float(rng.choice([0.1, 0.25, 0.6])))
  seq.total_time = t + 1
  note_seq.sequence_proto_to_midi_file(seq, str(path))


def test_performance_events_round_trip(tmp_path):
  from tcn_wta.datasets import maestro  # pylint: disable=import-outside-toplevel
  write_piano_midi(tmp_path / "p.mid", np.random.default_rng(3))
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


def test_parallel_conversion_equals_serial_and_skips_bad_files(tmp_path, caplog):
  import functools  # pylint: disable=import-outside-toplevel
  from music_runtime.files import dataset_cache
  from tcn_wta.datasets import maestro  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(4)
  rows = []
  for i in range(3):
    write_piano_midi(tmp_path / f"{i}.midi", rng)
    rows.append({"midi_filename": f"{i}.midi", "split": "train", "canonical_composer": "X",
                 "canonical_title": f"Piece {i}", "year": "2004"})
  (tmp_path / "bad.midi").write_bytes(b"\x00garbage")
  rows.insert(1, dict(rows[0], midi_filename="bad.midi"))
  load = functools.partial(maestro.load_file, str(tmp_path), "events", 16)
  with caplog.at_level("WARNING"):
    serial, skipped = dataset_cache.convert(rows, load, lambda r: r["midi_filename"])
  assert skipped == 1 and "bad.midi" in caplog.text
  parallel, _ = dataset_cache.convert(rows, load, lambda r: r["midi_filename"], workers=2)
  assert len(serial) == len(parallel) == 3
  for a, b in zip(serial, parallel):
    np.testing.assert_array_equal(a.array, b.array)


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


@pytest.mark.parametrize("config_name,variant,channels", [("maestro", "", 388),
                                                          ("maestro", "authors", 1),
                                                          ("corpus", "", 88)])
def test_one_step_on_events_and_rolls_is_an_adam_step(config_name, variant, channels):
  import importlib  # pylint: disable=import-outside-toplevel
  from tcn_wta.tools import benchmark  # pylint: disable=import-outside-toplevel
  config = importlib.import_module(f"configs.{config_name}").get_config(variant)
  config.model.num_atoms, config.model.tcn_features = 12, (4, 6)
  config.model.k.k_start = config.model.k.k_end = 3
  config.data.window, config.data.train_hop, config.batch_size = 16, 4, 2
  net = train.build_model(config, channels)
  state = train.create_state(config, net)
  pool = benchmark.synthetic_pool(config, channels, np.random.default_rng(0), num_rows=200)
  step_fn = train.make_train_step(config, net, sharding.make_mesh(1))
  new_state, scalars = step_fn(state, pool, jax.random.PRNGKey(0), 3)
  assert np.isfinite(float(scalars["loss"]))
  moved = jax.tree_util.tree_map(lambda a, b: np.abs(np.asarray(a) - np.asarray(b)),
                                 new_state["params"], state["params"])
  for path, step in jax.tree_util.tree_leaves_with_path(moved):
    if "dictionary" not in jax.tree_util.keystr(path):  # the dictionary is also projected
      # Adam's first step is lr * g / (|g| + eps): never above lr, and lr wherever |g| >> eps.
      assert step.max() <= config.learning_rate * 1.0001, path
      assert np.mean(np.isclose(step[step > 0], config.learning_rate, rtol=1e-2)) > 0.9, path
  atoms = np.asarray(new_state["params"]["dictionary"])
  assert np.all(np.sqrt(np.sum(atoms**2, axis=(1, 2))) <= 1 + 1e-6)
  metric = "event_accuracy" if config_name == "maestro" else "roll_f1"
  assert 0 <= float(scalars[metric]) <= 1


def test_dataset_cache_is_keyed_by_the_source_folders_content(tmp_path):
  import shutil  # pylint: disable=import-outside-toplevel
  from tcn_wta.datasets import data as tcn_data  # pylint: disable=import-outside-toplevel
  for name, text in (("a", "x\n"), ("b", "y\n")):
    (tmp_path / name).mkdir()
    (tmp_path / name / "info.csv").write_text(text)
  first = tcn_data.source_fingerprint(str(tmp_path / "a"))
  assert first == tcn_data.source_fingerprint(str(tmp_path / "a"))
  assert first != tcn_data.source_fingerprint(str(tmp_path / "b"))  # another dataset
  # A restored copy (new path, new modification times, same files) keeps its cache.
  shutil.copytree(tmp_path / "a", tmp_path / "restored")
  os.utime(tmp_path / "restored" / "info.csv", (1, 1))
  assert tcn_data.source_fingerprint(str(tmp_path / "restored")) == first
  (tmp_path / "a" / "info.csv").write_text("z\n")                  # same size, new bytes
  assert first != tcn_data.source_fingerprint(str(tmp_path / "a"))
  (tmp_path / "restored" / "extra.mid").write_bytes(b"MThd")
  assert first != tcn_data.source_fingerprint(str(tmp_path / "restored"))  # a file added
  assert tcn_data.source_fingerprint(str(tmp_path / "missing")) == "missing"


def test_the_authors_one_channel_variant_counts_its_parameters_by_hand():
  from configs import maestro as maestro_config  # pylint: disable=import-outside-toplevel
  from tcn_wta.applications import analysis  # pylint: disable=import-outside-toplevel
  config = maestro_config.get_config("authors")

  def block(n_in, n_out, k=3):  # two dilated convolutions, and a 1x1 convolution on the skip
    return k * n_in * n_out + n_out + k * n_out * n_out + n_out + (n_in * n_out + n_out)

  tcn = block(1, 8) + block(8, 16) + block(16, 32)
  expected = tcn + (4 * 32 * 1000 + 1000) + 1000 * 4 * 1   # atoms conv, then the dictionary
  assert analysis.parameter_count(config, 1) == expected == 139792
  assert analysis.authors_variant_size(maestro_config.get_config()) == {
      "parameters": expected, "float64_bytes": 8 * expected}
