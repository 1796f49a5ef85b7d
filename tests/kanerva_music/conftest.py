"""Fixtures of the kanerva_music tests, each built once per session (tests/conftest.py keeps the
tests that read one on one xdist worker): tiny trained workdirs, one with its report, and the
inpainting network trained on the JSB chorales."""

import os
import subprocess
import sys

import numpy as np
import pytest

from kanerva_music.reporting import report
from kanerva_music.training import train
from tests.conftest import random_splits
from tests.conftest import tiny_config
from tests.conftest import with_own_compilation_cache
from tests.conftest import write_object_npz


def _train_tiny(tmp_path_factory, listener=False):
  data = tmp_path_factory.mktemp("data") / "tiny_chorales.npz"
  write_object_npz(data, random_splits(np.random.default_rng(0), num=4, length=72))
  workdir = str(tmp_path_factory.mktemp("run"))
  config = tiny_config(str(data), 2)
  config.data.episode_steps = 32  # 2 bars, as the completion tool and figures expect
  config.eval.num_iters = 3
  if listener:  # the report's listener section: the uniform memory and the melody weighted 4x
    sigma = config.model.obs_noise_std
    config.eval.listener_voice_noises = ((sigma,) * 4, (sigma / 2,) + (sigma,) * 3)
    config.eval.listener_sizes = (2, 8)
    config.eval.capacity_sizes = (2, 8)
  result = train.train_and_evaluate(config, workdir)
  return config, workdir, result


@pytest.fixture(scope="session")
def trained_workdir(tmp_path_factory):
  """(config, workdir, TrainedMemory): a tiny memory trained once per session, no report (tests
  read it, never write into it)."""
  return _train_tiny(tmp_path_factory)


@pytest.fixture(scope="session")
def reported_workdir(tmp_path_factory):
  """(config, workdir, TrainedMemory, report): another tiny memory, its report (with the
  listener section) written once per session."""
  config, workdir, result = _train_tiny(tmp_path_factory, listener=True)
  return config, workdir, result, report.write_report(config, workdir, result)


SHARED_JSB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                          "jsb_chorales", "Jsb16thSeparated.npz")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def prior_command(workdir, *flags):
  """The inpainting network's quick config on the JSB chorales, as a user runs it (the train and
  validation NLL on 2 x T episodes each, not 8 x T)."""
  return [sys.executable, "-m", "kanerva_music.main", "--config=configs/chorales.py:prior_quick",
          f"--workdir={workdir}", f"--config.data.path={os.path.abspath(SHARED_JSB)}",
          "--config.eval.split_nll_memories=2", *flags]


def prior_env(workdir):
  """The environment of the binaries run on `trained_prior`'s `workdir`: a compilation cache of
  its own beside it, which the fixture's run fills and later runs load."""
  return with_own_compilation_cache(os.path.join(os.path.dirname(workdir), "jax-cache"))


@pytest.fixture(scope="session")
def trained_prior(tmp_path_factory):
  """(workdir, the finished process): `prior_quick` trained and reported once per session."""
  if not os.path.exists(SHARED_JSB):
    pytest.skip("needs ../shared/data/jsb_chorales")
  workdir = str(tmp_path_factory.mktemp("prior") / "run")
  # As a user's first run, every program compiled (its stderr is checked for XLA error lines).
  done = subprocess.run(prior_command(workdir), cwd=ROOT, capture_output=True, text=True,
                        timeout=600, env=prior_env(workdir))
  assert done.returncode == 0, done.stderr[-3000:]
  return workdir, done
