"""kanerva_music.data.episodes: normalisation, the pool of rest-free windows, sampling."""

import jax
import numpy as np
import pytest

from kanerva_music.data import episodes


def test_normalisation_round_trips_every_pitch():
  pitches = np.arange(episodes.PITCH_LOW, episodes.PITCH_HIGH + 1)
  x = episodes.normalise(pitches)
  assert x[0] == -1.0 and x[-1] == 1.0
  np.testing.assert_array_equal(episodes.to_pitches(x + 0.4 * 2 / 45), pitches)


def test_pool_skips_windows_with_rests_and_flattens_time_major():
  chorale = (np.arange(10)[:, None] + 40 + 10 * np.arange(4)).astype(np.float32)
  chorale[6] = np.nan  # a rest at step 6
  pool = episodes.make_pool([chorale], episode_steps=3, rests="skip")
  # Windows start at 0..7; those covering step 6 (starts 4, 5, 6) are dropped.
  np.testing.assert_array_equal(np.asarray(pool.window_starts), [0, 1, 2, 3, 7])
  x = episodes.sample_episodes(pool, jax.random.PRNGKey(0), (50,), 3)
  pitches = episodes.to_pitches(x).reshape(50, 3, 4)  # x[4 s + i] = voice i at step s
  assert np.all(pitches[:, 1:, 0] - pitches[:, :-1, 0] == 1)
  assert np.all(pitches[:, :, 1] - pitches[:, :, 0] == 10)
  assert set(pitches[:, 0, 0]) == {40, 41, 42, 43, 47}


def test_hold_policy_fills_rests_with_previous_pitch():
  chorale = np.full((6, 4), 50, np.float32)
  chorale[:2] = np.nan
  chorale[3:5, 2] = np.nan
  chorale[2, 2] = 55
  pool = episodes.make_pool([chorale], episode_steps=6, rests="hold")
  held = episodes.to_pitches(pool.steps)
  np.testing.assert_array_equal(held[:, 2], [55, 55, 55, 55, 55, 50])
  with pytest.raises(ValueError, match="data.rests='drop'"):
    episodes.make_pool([chorale], episode_steps=6, rests="drop")


def test_sampling_is_uniform_over_chorales_not_windows():
  short = np.full((4, 4), 40.0, np.float32)   # 1 window of 4 steps
  long = np.full((103, 4), 60.0, np.float32)  # 100 windows
  pool = episodes.make_pool([short, long], episode_steps=4)
  x = episodes.sample_episodes(pool, jax.random.PRNGKey(1), (4000,), 4)
  share_short = np.mean(episodes.to_pitches(x[:, 0]) == 40)
  assert 0.45 < share_short < 0.55


def test_evaluation_set_is_fixed_by_seed():
  rng = np.random.default_rng(3)
  pool = episodes.make_pool([rng.integers(40, 80, (50, 4)).astype(np.float32) for _ in range(5)],
                            episode_steps=8)
  a = episodes.evaluation_set(pool, 7, 3, 4, 8)
  b = episodes.evaluation_set(pool, 7, 3, 4, 8)
  c = episodes.evaluation_set(pool, 8, 3, 4, 8)
  assert a.shape == (3, 4, 32)
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert not np.array_equal(np.asarray(a), np.asarray(c))
  # One compiled program per shape, the same draw as the op-by-op sampler.
  np.testing.assert_array_equal(np.asarray(a), np.asarray(episodes.sample_episodes(
      pool, jax.random.PRNGKey(7), (3, 4), 8)))
