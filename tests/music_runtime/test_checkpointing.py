"""music_runtime.training.checkpointing: a reader beside a trainer never takes a checkpoint being
written or removed for damage, and never moves one aside."""

import os
import shutil

import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from music_runtime.training import checkpointing


def _state(value=0.0):
  return {"params": {"rows": jnp.full((4, 3), value)}, "step": jnp.asarray(0)}


def _save(workdir, step, value):
  mngr = checkpointing.manager(str(workdir), keep=5)
  checkpointing.save(mngr, step, _state(value), force=True)
  mngr.wait_until_finished()
  mngr.close()
  return os.path.join(str(workdir), "checkpoints", str(step))


def test_a_checkpoint_removed_while_it_is_read_is_not_damage(tmp_path, monkeypatch):
  _save(tmp_path, 5, 5.0)
  latest = _save(tmp_path, 6, 6.0)
  restore = ocp.CheckpointManager.restore

  def removed_by_the_trainer(self, step, *args, **kwargs):
    if step == 6 and os.path.isdir(latest):
      shutil.rmtree(latest)  # the trainer's LatestN removes it as it is read
      raise FileNotFoundError(latest)
    return restore(self, step, *args, **kwargs)

  monkeypatch.setattr(ocp.CheckpointManager, "restore", removed_by_the_trainer)
  state, step = checkpointing.restore_trained(str(tmp_path), _state())
  assert step == 5 and float(state["params"]["rows"][0, 0]) == 5.0
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["5"]


def test_a_reader_skips_a_damaged_checkpoint_and_leaves_it_in_place(tmp_path):
  _save(tmp_path, 5, 5.0)
  latest = _save(tmp_path, 6, 6.0)
  for root, _, names in os.walk(latest):
    for name in names:
      open(os.path.join(root, name), "wb").close()
  state, step = checkpointing.restore_trained(str(tmp_path), _state())
  assert step == 5
  np.testing.assert_array_equal(state["params"]["rows"], np.full((4, 3), 5.0))
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["5", "6"]  # nothing renamed


def test_a_first_checkpoint_being_written_is_not_read_as_untrained(tmp_path):
  folder = tmp_path / "checkpoints"
  (folder / "7.orbax-checkpoint-tmp-1796237439").mkdir(parents=True)
  with pytest.raises(checkpointing.CheckpointBusyError,
                     match=r"no finished checkpoint yet; 7.orbax-checkpoint-tmp-\d+ is being "
                           "written by a trainer"):
    checkpointing.restore_trained(str(tmp_path), _state())
  shutil.rmtree(folder / "7.orbax-checkpoint-tmp-1796237439")
  with pytest.raises(FileNotFoundError, match="No checkpoint in"):
    checkpointing.restore_trained(str(tmp_path), _state())


def test_only_damaged_checkpoints_are_an_error_of_their_own(tmp_path):
  path = _save(tmp_path, 5, 5.0)
  for root, _, names in os.walk(path):
    for name in names:
      open(os.path.join(root, name), "wb").close()
  with pytest.raises(checkpointing.CorruptCheckpointError, match="No readable checkpoint: .*5"):
    checkpointing.restore_trained(str(tmp_path), _state())
  assert not isinstance(checkpointing.CorruptCheckpointError("x"), FileNotFoundError)
