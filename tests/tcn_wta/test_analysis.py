"""tcn_wta.applications.analysis: the top-N reconstruction."""

import numpy as np
import pytest

from tcn_wta.applications import analysis
from tests.tcn_wta import made_up


@pytest.mark.parametrize("config_name,channels", [("groove", 27), ("maestro", 388),
                                                  ("corpus", 88)])
def test_top_n_with_every_entry_is_the_full_reconstruction(config_name, channels):
  config, trained = made_up.random_model(config_name, channels)
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
