"""kanerva_music.evaluation.baselines against NumPy oracles written from their definitions."""

import numpy as np
import pytest

from kanerva_music.data import episodes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics

M, T, S = 3, 5, 8
C = 4 * S


def random_episodes(rng, num_memories=M, num_episodes=T):
  """Continuous pitches, so that no two candidates tie for nearest."""
  pitches = rng.uniform(50, 70, size=(num_memories, num_episodes, C))
  return episodes.normalise(pitches).astype(np.float32)


def oracle_hold(cue, mask):
  """Forward fill per voice, backward fill before the first observed step, else 0."""
  grid, obs = cue.reshape(S, 4).copy(), mask.reshape(S, 4) != 0
  out = np.zeros_like(grid)
  for v in range(4):
    seen = np.flatnonzero(obs[:, v])
    for s in range(S):
      before = seen[seen <= s]
      after = seen[seen >= s]
      out[s, v] = (grid[before[-1], v] if len(before) else
                   grid[after[0], v] if len(after) else 0.0)
  return out.reshape(C)


def oracle_nearest(query, candidates, mask):
  d = ((query - candidates) ** 2 * (mask != 0)).sum(-1)
  return candidates[np.argmin(d)]


def oracle_parallel(cue, mask, intervals):
  """Per step, each voice from the given voice nearest to it (the higher one on a tie) plus the
  median interval; a step with nothing given holds."""
  grid, obs = cue.reshape(S, 4), mask.reshape(S, 4) != 0
  out = oracle_hold(cue, mask).reshape(S, 4)
  for s in range(S):
    given = np.flatnonzero(obs[s])
    for v in range(4):
      if len(given):
        g = min(given, key=lambda g: (abs(v - g), g))
        out[s, v] = grid[s, g] + intervals[v, g]
  return out.reshape(C)


def clamp(estimate, cue, mask):
  return np.where(mask != 0, cue, estimate)


@pytest.fixture
def setup():
  rng = np.random.default_rng(0)
  stored = random_episodes(rng)
  novel = random_episodes(rng)
  windows = random_episodes(rng, 1, 40)[0]
  context = baselines.Context(windows, beta=10.0)
  masks = np.stack([evaluate.observation_mask("half", 1, S, rng)[0],
                    evaluate.observation_mask("random_50", 1, S, rng)[0],
                    np.zeros(C, np.float32)])  # the last memory observes nothing
  masks[2, 5] = 1  # ... but one entry of one voice
  return stored, novel, windows, context, masks


def test_each_baseline_equals_its_numpy_oracle(setup):
  stored, novel, windows, context, masks = setup
  for x in (stored, novel):
    expected = {name: np.zeros_like(x) for name in baselines.COMPLETION_BASELINES}
    for i in range(M):
      for t in range(T):
        q, m = x[i, t], masks[i]
        scores = -0.5 * 10.0 * ((q - stored[i]) ** 2 * (m != 0)).sum(-1)
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        raw = {"hold_last_chord": oracle_hold(q, m), "train_mean": windows.mean(0),
               "nearest_stored": oracle_nearest(q, stored[i], m),
               "nearest_train": oracle_nearest(q, windows, m),
               "modern_hopfield": weights @ stored[i],
               "parallel_motion": oracle_parallel(q, m, np.asarray(context.intervals))}
        for name, value in raw.items():
          expected[name][i, t] = clamp(value, q, m)
    for name in baselines.COMPLETION_BASELINES:
      got = np.asarray(baselines.estimate(name, x, masks, stored, context))
      np.testing.assert_allclose(got, expected[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_nearest_stored_recalls_stored_episodes_and_scores_follow(setup):
  stored, novel, _, context, masks = setup
  half = np.tile(masks[:1], (M, 1))
  recall = baselines.score("nearest_stored", stored, stored, half, stored, context)
  assert recall["acc_exact"] == 1.0 and recall["mse"] == 0.0
  unseen = baselines.score("nearest_stored", novel, novel, half, stored, context)
  assert unseen["acc_exact"] < 0.5


def test_denoising_scores_every_entry_and_the_cue_scores_itself(setup):
  stored, _, _, context, _ = setup
  rng = np.random.default_rng(1)
  cue = stored + 0.1 * rng.standard_normal(stored.shape).astype(np.float32)
  got = baselines.score("cue", stored, cue, None, stored, context)
  expected = pitch_metrics.iteration_metrics(stored, cue[None], np.ones((1, 1, 1), bool))
  for k in pitch_metrics.METRICS:
    assert got[k] == pytest.approx(float(expected[k][0]), rel=1e-6)
  assert baselines.score("nearest_stored", stored, cue, None, stored, context)["acc_exact"] == 1.0


def test_median_filter_removes_a_single_step_spike():
  x = np.zeros((1, 1, C), np.float32)
  x[0, 0, 4 * 3 + 1] = 0.5  # one step of the alto
  out = np.asarray(baselines.estimate("median_filter", x, np.ones((1, C), np.float32), x,
                                      None, denoise=True))
  np.testing.assert_array_equal(out, np.zeros_like(x))


def test_beta_is_chosen_on_the_given_memories(setup):
  stored, novel, _, context, masks = setup
  half = np.tile(masks[:1], (M, 1))
  beta, scores = baselines.choose_beta(stored, novel, half, context, betas=(0.01, 100.0))
  assert set(scores) == {0.01, 100.0}
  assert scores[beta] == max(scores.values())
  # A sharp softmax recalls stored episodes; a flat one averages them.
  assert scores[100.0] > scores[0.01]


def test_first_argmin_equals_argmin_with_ties_and_nans():
  rng = np.random.default_rng(3)
  values = rng.integers(0, 4, size=(6, 50)).astype(np.float32)  # many ties
  values[1, [7, 30]] = np.nan                                    # NaN counts as the minimum
  values[2] = 5.0                                                # all equal
  values[3, -1] = -np.inf
  for axis in (-1, 0):
    np.testing.assert_array_equal(np.asarray(baselines.first_argmin(values, axis=axis)),
                                  np.argmin(values, axis=axis))


def test_median_intervals_are_the_median_voice_differences_in_semitones():
  rng = np.random.default_rng(3)
  pitches = rng.integers(40, 80, size=(50, C)).astype(np.float64)
  got = baselines.median_intervals(episodes.normalise(pitches))
  steps = pitches.reshape(-1, 4)
  for v in range(4):
    for g in range(4):
      assert got[v, g] == pytest.approx(np.median(steps[:, v] - steps[:, g]) * 2 / 45, abs=1e-6)
  for values in ([3.0], [5.0, -2.0], [4.0, -1.0, 4.0], rng.integers(-9, 9, 101), [1.0, np.nan]):
    values = np.asarray(values, np.float64)  # the counting median is NumPy's, odd or even
    np.testing.assert_equal(baselines._median_of_integers(values), np.median(values))


def test_parallel_motion_harmonises_a_given_melody_at_the_median_intervals():
  rng = np.random.default_rng(4)
  windows = random_episodes(rng, 1, 40)[0]
  context = baselines.Context(windows)
  melody = random_episodes(rng, 1, 2)
  soprano = evaluate.observation_mask("soprano", 1, S, None)
  got = np.asarray(baselines.estimate("parallel_motion", melody, soprano, melody, context))
  steps, out = melody.reshape(1, 2, S, 4), got.reshape(1, 2, S, 4)
  intervals = np.asarray(context.intervals)
  np.testing.assert_array_equal(out[..., 0], steps[..., 0])
  for v in (1, 2, 3):
    np.testing.assert_allclose(out[..., v], steps[..., 0] + intervals[v, 0], atol=1e-6)
