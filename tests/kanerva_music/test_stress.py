"""kanerva_music.tools.stress: the step-rate windows find a stall."""

import numpy as np

from kanerva_music.tools import stress


def test_step_rate_windows_find_a_stall():
  steady = np.arange(0, 60, 0.01)  # 100 steps/s for 60 s
  stalled = np.concatenate([steady[steady < 30], 35 + np.arange(0, 25, 0.01)])  # 5 s pause
  rates = stress.step_rate_windows(steady)
  assert len(rates) == 5 and np.allclose(rates, 100, atol=0.2)
  stall = stress.step_rate_windows(stalled)
  assert stall.min() < np.median(stall) / 1.5
