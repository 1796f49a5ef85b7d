"""tcn_wta.applications.corruption: exactly round(drop x n) played and round(add x n) silent
cells per window, chosen uniformly."""

import jax
import numpy as np

from tcn_wta.applications import corruption


def test_each_window_loses_and_gains_its_exact_counts():
  rng = np.random.default_rng(0)
  played = rng.random((6, 16, 9)) < 0.3
  off, on = corruption.corrupt_cells(played, jax.random.PRNGKey(1), 0.2, 0.3)
  off, on = np.asarray(off), np.asarray(on)
  for w in range(6):
    n = played[w].sum()
    assert off[w].sum() == round(0.2 * n) and on[w].sum() == round(0.3 * n)
  assert not (off & ~played).any() and not (on & played).any()  # off from played, on from silent


def test_the_choice_is_uniform_over_the_played_cells():
  played = np.zeros((4000, 10), bool)
  played[:, :5] = True
  off, _ = corruption.corrupt_cells(played, jax.random.PRNGKey(2), 0.2, 0.0)  # one of five
  share = np.asarray(off)[:, :5].mean(0)
  np.testing.assert_allclose(share, 0.2, atol=0.03)
