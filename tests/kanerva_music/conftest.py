"""Fixtures of the kanerva_music tests: a tiny trained workdir."""

import pytest

from kanerva_music.training import train
from tests.conftest import tiny_config


@pytest.fixture
def trained_workdir(tiny_chorale_npz, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("run"))
  config = tiny_config(tiny_chorale_npz, 2)
  config.data.episode_steps = 32  # 2 bars, as the completion tool and figures expect
  config.eval.num_iters = 3
  result = train.train_and_evaluate(config, workdir)
  return config, workdir, result
