"""Orbax checkpointing shared by both trainers: periodic saves and automatic resume."""

import os

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers


def manager(workdir, *, keep=3, save_interval_steps=1):
  """A CheckpointManager over `workdir/checkpoints` that keeps the latest `keep` steps."""
  options = ocp.CheckpointManagerOptions(
      save_interval_steps=save_interval_steps,
      preservation_policy=checkpoint_managers.LatestN(keep),
      create=True)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"),
                               options=options)


def restore_latest(mngr, state):
  """Returns (state restored from the latest checkpoint, its step) or (state, None) if none."""
  step = mngr.latest_step()
  if step is None:
    return state, None
  abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, state)
  return mngr.restore(step, args=ocp.args.StandardRestore(abstract)), step


def restore_trained(workdir, state, *, keep=3):
  """(state, step) of the latest checkpoint in `workdir`; a clear error if there is none."""
  mngr = manager(workdir, keep=keep)
  try:
    restored, step = restore_latest(mngr, state)
  finally:
    mngr.close()
  if step is None:
    raise FileNotFoundError(f"No checkpoint in {os.path.abspath(workdir)}/checkpoints: train first "
                            "with --mode=train (the default).")
  return restored, step


def save(mngr, step, state, *, force=False):
  """Saves `state` at `step` (asynchronously); `force` ignores the save interval."""
  return mngr.save(step, args=ocp.args.StandardSave(state), force=force)
