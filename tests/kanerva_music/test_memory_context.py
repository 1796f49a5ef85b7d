"""The DKM memory as the inpainting network's context: the write and ridge read against a
float64 NumPy oracle, the stored windows' slots, the training draw, and the list baseline."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.data import episodes
from kanerva_music.prior import context_task
from kanerva_music.prior import memory_context
from kanerva_music.prior import network
from kanerva_music.prior import objective

S = 32  # two bars: the slots are whole bars away


def chorale(rng, length):
  return episodes.PITCH_LOW + rng.integers(5, 40, size=(length, 4)).astype(np.float64)


def small_grid(rng, lengths=(160, 96), rest_at=None):
  pieces = [chorale(rng, n) for n in lengths]
  if rest_at is not None:
    pieces[0][rest_at, 2] = np.nan
  pool = episodes.make_pool(pieces, S)
  return memory_context.chorale_grid(pool), pieces


def test_slots_are_whole_bars_away_and_never_overlap_the_window():
  offsets = memory_context.slot_offsets(6, S)
  np.testing.assert_array_equal(offsets, [32, -32, 48, -48, 64, -64])
  assert np.all(offsets % memory_context.BAR_STEPS == 0) and np.all(np.abs(offsets) >= S)


def test_stored_slots_hold_the_same_chorales_rest_free_windows_only():
  grid, pieces = small_grid(np.random.default_rng(0), rest_at=70)
  offsets = jnp.asarray(memory_context.slot_offsets(12, S))
  windows, valid = memory_context.stored_slots(grid, jnp.asarray([0]), offsets, S)
  windows, valid = np.asarray(windows[0]), np.asarray(valid[0])
  # chorale 0 has 160 steps: windows start at 0..128; offsets 32, 48, ... after row 0; the
  # windows over step 70 (starts 39..70: 48 and 64) hold a rest; none before row 0 or beyond
  # the chorale (row 144 + 32 > 160), none of chorale 1 (row 160 on).
  starts = np.asarray(memory_context.slot_offsets(12, S))
  expected = [o in (32, 80, 96, 112, 128) for o in starts]
  np.testing.assert_array_equal(valid, expected)
  first = (pieces[0][32:64] - episodes.PITCH_LOW).astype(np.int32)
  np.testing.assert_array_equal(windows[0], first)
  # host rows on a host grid (the report's) read the same windows without a device program
  host_windows, host_valid = memory_context.stored_slots(jax.device_get(grid), np.asarray([0]),
                                                         np.asarray(offsets), S)
  assert isinstance(host_windows, np.ndarray) and isinstance(host_valid, np.ndarray)
  np.testing.assert_array_equal(host_windows[0], windows)
  np.testing.assert_array_equal(host_valid[0], valid)


def ridge_context_oracle(windows, valid, addresses, notes, mask, noise):
  """float64 NumPy: the Kalman write from MN(0, I, I), then eq. 6's ridge read."""
  onehot = lambda x: np.eye(46)[x].reshape(-1)
  z = np.stack([onehot(w) for w in windows])
  w = addresses * valid[:, None]
  k = w.shape[1]
  mean = w.T @ np.linalg.solve(w @ w.T + noise**2 * np.eye(len(w)), z)  # R' = W^T Sz^-1 Z
  x, m = onehot(notes), np.repeat(mask.reshape(-1), 46)
  observed = mean * m
  address = np.linalg.solve(observed @ mean.T + noise**2 * np.eye(k), observed @ x)
  return (address @ mean).reshape(notes.shape[0], 4, 46)


def test_write_and_read_equal_a_float64_oracle():
  rng = np.random.default_rng(1)
  windows = rng.integers(0, 46, size=(5, 4, 4))
  valid = np.asarray([True, True, False, True, True])
  addresses = rng.standard_normal((5, 8))
  notes = windows[1].copy()
  mask = (rng.random((4, 4)) < 0.5).astype(np.float32)
  memory = jax.jit(lambda *a: memory_context.write(*a, 0.1))(
      jnp.asarray(windows), jnp.asarray(valid), jnp.asarray(addresses, jnp.float32))
  got = jax.jit(lambda *a: memory_context.read_context(*a, 0.1))(
      memory, jnp.asarray(notes), jnp.asarray(mask))
  want = ridge_context_oracle(windows, valid, addresses, notes, mask, 0.1)
  np.testing.assert_allclose(np.asarray(got)[:, :4 * 46].reshape(4, 4, 46), want, atol=2e-4)
  assert got.shape == (4, memory_context.CONTEXT_FEATURES)
  np.testing.assert_array_equal(np.asarray(got)[:, -1], 1.0)  # the memory-on flag


def test_a_stored_window_is_read_back_and_an_empty_memory_gives_the_off_context():
  rng = np.random.default_rng(2)
  windows = jnp.asarray(rng.integers(0, 46, size=(1, 3, S, 4)), jnp.int32)
  addresses = jnp.asarray(memory_context.slot_addresses(3, 16, 0))
  mask = jnp.asarray(np.repeat((np.arange(S) < S // 2)[:, None], 4, axis=1), jnp.float32)[None]
  target = windows[:, 1]
  contexts = jax.jit(lambda valid: memory_context.contexts(windows, valid, target, mask,
                                                           addresses, 0.1))
  on = contexts(jnp.ones((1, 3), bool))
  readout = np.asarray(on)[0, :, :4 * 46].reshape(S, 4, 46)
  np.testing.assert_array_equal(readout.argmax(-1), np.asarray(target[0]))
  off = contexts(jnp.zeros((1, 3), bool))
  np.testing.assert_array_equal(np.asarray(off), 0.0)


def test_training_windows_transpose_a_chorale_as_a_whole_and_store_the_target_last():
  grid, _ = small_grid(np.random.default_rng(3))
  config = memory_context.MemoryConfig(num_rows=8, num_slots=6, noise=0.1,
                                       mode_mix=(0.0, 0.0, 1.0))
  rows = jnp.asarray([16, 32, 48])
  targets, stored, valid = memory_context.training_windows(
      grid, rows, jax.random.PRNGKey(0), config, S, 3, None)
  original = memory_context.grid_windows(grid, rows, S)
  shift = np.asarray(targets - original)[:, 0, 0]
  np.testing.assert_array_equal(np.asarray(targets - original), shift[:, None, None]
                                * np.ones((1, S, 4), np.int32))
  np.testing.assert_array_equal(np.asarray(stored[:, -1]), np.asarray(targets))
  assert np.asarray(valid[:, -1]).all()
  first, first_valid = memory_context.stored_slots(
      grid, rows, jnp.asarray(memory_context.slot_offsets(6, S)), S)
  kept = np.asarray(first_valid)
  np.testing.assert_array_equal(np.asarray(valid[:, :-1]), kept)
  moved = np.asarray(stored[:, :-1] - first)[kept]
  np.testing.assert_array_equal(moved, np.repeat(shift, kept.sum(1))[:, None, None]
                                * np.ones((1, S, 4), np.int32))
  off = config._replace(mode_mix=(1.0, 0.0, 0.0))
  _, _, none = memory_context.training_windows(grid, rows, jax.random.PRNGKey(0), off, S, 3,
                                               None)
  assert not np.asarray(none).any()


def test_a_context_network_without_a_memory_reads_the_zero_context():
  net = network.InpaintingNet(kind="conv", width=8, depth=2, dropout=0.0,
                              context=memory_context.CONTEXT_FEATURES)
  zeros = memory_context.off_context((1,), 8)
  notes = jnp.zeros((1, 8, 4), jnp.int32)
  params = net.init(jax.random.PRNGKey(0), network.tokens(notes, notes), zeros)["params"]
  rng = np.random.default_rng(4)
  notes = jnp.asarray(rng.integers(0, 46, size=(2, 8, 4)), jnp.int32)
  mask = jnp.asarray(rng.random((2, 8, 4)) < 0.5, jnp.float32)
  np.testing.assert_array_equal(objective.apply(net, params, notes, mask),
                                objective.apply(net, params, notes, mask,
                                                memory_context.off_context((2,), 8)))


def test_the_list_copies_the_nearest_stored_window_on_the_given_entries():
  notes = np.asarray([[[1, 2, 3, 4], [5, 6, 7, 8]]])
  mask = np.asarray([[[1, 1, 0, 0], [1, 1, 0, 0]]], np.float32)
  stored = np.asarray([[[[1, 9, 30, 40], [5, 6, 31, 41]],      # 1 mismatch
                        [[1, 2, 10, 11], [5, 6, 12, 13]],      # 0 mismatches
                        [[1, 2, 20, 21], [5, 6, 22, 23]]]])    # 0, but not valid
  valid = np.asarray([[True, True, False]])
  got = context_task.list_completion(notes, mask, stored, valid)
  np.testing.assert_array_equal(got, [[[1, 2, 10, 11], [5, 6, 12, 13]]])


def test_context_targets_are_bar_aligned_and_have_a_stored_window():
  grid, _ = small_grid(np.random.default_rng(5))
  offsets = memory_context.slot_offsets(8, S)
  rows = context_task.target_rows(grid, offsets, 100, 0)
  # chorale 0 (rows 0..159): bar starts 0..128; chorale 1 (160..255): 160..224, each with a
  # window two bars away
  np.testing.assert_array_equal(rows, [0, 16, 32, 48, 64, 80, 96, 112, 128, 160, 176, 192,
                                       208, 224])
  assert len(context_task.target_rows(grid, offsets, 3, 0)) == 3


def test_the_fast_read_equals_reading_the_written_memory():
  grid, _ = small_grid(np.random.default_rng(6))
  rows = jnp.asarray([0, 48, 160])
  offsets = jnp.asarray(memory_context.slot_offsets(6, S))
  windows, valid = memory_context.stored_slots(grid, rows, offsets, S)
  notes = memory_context.grid_windows(grid, rows, S)
  windows = jnp.concatenate([windows, notes[:, None]], axis=1)
  valid = jnp.concatenate([valid, jnp.asarray([[True], [False], [True]])], axis=1)
  mask = jnp.asarray(np.random.default_rng(7).random((3, S, 4)) < 0.4, jnp.float32)
  addresses = jnp.asarray(memory_context.slot_addresses(7, 8, 1))
  fast = jax.jit(lambda *a: memory_context.contexts(*a, 0.1))(windows, valid, notes, mask,
                                                               addresses)
  write = jax.jit(lambda *a: memory_context.write(*a, 0.1))
  read = jax.jit(lambda *a: memory_context.read_context(*a, 0.1))
  for i in range(3):
    slow = read(write(windows[i], valid[i], addresses), notes[i], mask[i])
    np.testing.assert_allclose(np.asarray(fast[i]), np.asarray(slow), atol=3e-4)


def test_filling_a_piece_reads_its_fully_given_windows_and_keeps_the_given_notes():
  from kanerva_music.prior import harmonise
  net = network.InpaintingNet(kind="conv", width=16, depth=2, dropout=0.0,
                              context=memory_context.CONTEXT_FEATURES)
  notes = jnp.zeros((1, S, 4), jnp.int32)
  params = net.init(jax.random.PRNGKey(1), network.tokens(notes, notes),
                    memory_context.off_context((1,), S))["params"]
  rng = np.random.default_rng(8)
  piece = rng.integers(0, 46, size=(96, 4)).astype(np.int32)
  given = np.ones((96, 4), np.float32)
  given[:32, 1:] = 0.0  # bars 1-2: alto, tenor, bass to fill; bars 3-6 given in full
  memory = memory_context.MemoryConfig(num_rows=8, num_slots=4, noise=0.1,
                                       mode_mix=(0.25, 0.5, 0.25))
  alone = harmonise.fill_piece(net, params, piece, given)
  heard = harmonise.fill_piece(net, params, piece, given, memory=memory)
  for fill in (alone, heard):
    np.testing.assert_array_equal(fill[given != 0], piece[given != 0])
  assert not np.array_equal(alone, heard)  # the first window read bars 3-6 from its memory
  melody = given.copy()
  melody[:, 1:] = 0.0  # no window given in full: the memory is off, the fill the same
  np.testing.assert_array_equal(harmonise.fill_piece(net, params, piece, melody),
                                harmonise.fill_piece(net, params, piece, melody, memory=memory))


def test_the_recall_ceiling_counts_windows_the_cue_cannot_tell_apart():
  notes = np.asarray([[[1, 2, 3, 4]]])
  mask = np.asarray([[[1, 0, 0, 0]]], np.float32)  # the soprano alone
  stored = np.asarray([[[[1, 2, 3, 5]], [[1, 9, 9, 9]], [[7, 2, 3, 4]]]])
  # windows 0 and 1 agree with the cue's soprano: with the window itself, three candidates;
  # alto 2 is held by two of them (right), tenor 3 by two (right), bass: 4, 5, 9 tie (1/3)
  assert context_task.recall_ceiling(notes, mask, stored, np.ones((1, 3), bool)) == pytest.approx(
      (1 + 1 + 1 / 3) / 3)
  assert context_task.recall_ceiling(notes, mask, stored,
                                     np.asarray([[False, False, True]])) == 1.0


def test_hold_last_on_the_context_windows_repeats_each_voices_last_given_pitch():
  notes = np.asarray([[[10, 20, 30, 40], [11, 21, 31, 41], [12, 22, 32, 42]]])
  mask = np.asarray([[[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]]], np.float32)
  got = context_task.hold_last_completion(notes, mask)
  np.testing.assert_array_equal(got, [[[10, 20, 30, 40], [11, 20, 31, 40], [11, 20, 31, 40]]])
