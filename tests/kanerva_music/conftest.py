"""Fixtures of the kanerva_music tests: a tiny trained workdir, and the inpainting network
trained once per session on the JSB chorales."""

import os
import subprocess
import sys

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


SHARED_JSB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                          "jsb_chorales", "Jsb16thSeparated.npz")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def prior_command(workdir, *flags):
  """The inpainting network's quick config on the JSB chorales, as a user runs it."""
  return [sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py:prior_quick",
          f"--workdir={workdir}", f"--config.data.path={os.path.abspath(SHARED_JSB)}", *flags]


@pytest.fixture(scope="session")
def trained_prior(tmp_path_factory):
  """(workdir, the binary's stdout): `prior_quick` trained and reported once per session."""
  if not os.path.exists(SHARED_JSB):
    pytest.skip("needs ../shared/data/jsb_chorales")
  workdir = tmp_path_factory.mktemp("prior") / "run"
  done = subprocess.run(prior_command(workdir), cwd=ROOT, capture_output=True, text=True,
                        timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  return str(workdir), done.stdout
