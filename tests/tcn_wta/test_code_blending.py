"""tcn_wta.applications.code_blending: blending generators and the novelty of generated bars."""

import numpy as np

from tests.tcn_wta import made_up


def test_code_blending_generators_on_a_made_up_bank():
  from tcn_wta.applications import code_blending  # pylint: disable=import-outside-toplevel
  # 2 windows x 8 steps, k = 1, 5 atoms; window w step t: atom (w + t) % 5
  bank = made_up.bank(period=4)
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
