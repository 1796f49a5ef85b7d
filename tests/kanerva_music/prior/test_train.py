"""kanerva_music.prior.train: the best parameters by validation NLL, and a reader of them beside
a trainer."""

import json
import os
import threading

import jax.numpy as jnp
import pytest

from kanerva_music.prior import train as prior_train
from music_runtime.files import atomic
from music_runtime.files import metric_writing
from music_runtime.training import checkpointing


def test_the_report_keeps_the_parameters_with_the_lowest_validation_nll(trained_prior):
  workdir, _ = trained_prior
  best = json.load(open(os.path.join(workdir, "best.json")))
  logged = dict(metric_writing.read_scalars(workdir)["validation/nll_per_hidden_note"])
  assert best["step"] == min(logged, key=logged.get)
  assert best["validation_nll"] == pytest.approx(logged[best["step"]], rel=1e-6)
  assert sorted(os.listdir(os.path.join(workdir, "best"))) == [str(best["step"])]


def test_a_reader_waits_for_best_json_to_follow_the_best_parameters(tmp_path):
  params = {"w": jnp.arange(3.0)}
  keeper = prior_train.BestKeeper(str(tmp_path))
  assert keeper.offer(1, 2.0, params)
  # The trainer's next best: best/ holds step 2 before best.json says so.
  mngr = checkpointing.manager(str(tmp_path), keep=1, folder=prior_train.BEST_FOLDER)
  checkpointing.save(mngr, 2, {"w": jnp.arange(3.0) + 1}, force=True)
  mngr.wait_until_finished()
  mngr.close()
  record = str(tmp_path / prior_train.BEST_RECORD)
  later = threading.Timer(0.5, atomic.write_json, (record, {"step": 2, "validation_nll": 1.0}))
  later.start()
  restored, best = prior_train.restore_best(str(tmp_path), params)
  later.join()
  assert best["step"] == 2 and restored["w"].tolist() == [1.0, 2.0, 3.0]
  atomic.write_json(record, {"step": 7, "validation_nll": 1.0})  # never follows
  with pytest.raises(FileNotFoundError, match="names step 7 but .* holds 2"):
    prior_train.restore_best(str(tmp_path), params, settle_seconds=0.3)
