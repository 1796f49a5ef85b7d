"""Orbax checkpointing shared by both trainers: periodic saves and automatic resume."""

import os
from typing import Any, Optional, Tuple

from absl import logging
import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers


def manager(workdir: str, *, keep: int = 3, save_interval_steps: int = 1,
            folder: str = "checkpoints") -> ocp.CheckpointManager:
  """A CheckpointManager over `workdir/<folder>` that keeps the latest `keep` steps."""
  options = ocp.CheckpointManagerOptions(
      save_interval_steps=save_interval_steps,
      preservation_policy=checkpoint_managers.LatestN(keep),
      create=True)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), folder),
                               options=options)


class CorruptCheckpointError(FileNotFoundError):
  """Checkpoints exist but none of them can be read."""


class CheckpointMismatchError(ValueError):
  """A checkpoint holds other arrays than the config builds: the config's fault, not the
  file's, so the checkpoint is left where it is."""


def _leaf_name(path) -> str:
  """"a/b/0" for a pytree key path, alike for dict keys, attributes and indices (Orbax stores
  named tuples and lists as dicts and lists)."""
  return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))))
                  for k in path)


def stored_shapes(path: str) -> Optional[dict]:
  """{leaf path: shape} of the arrays a checkpoint folder `<dir>/<step>` holds, from its
  metadata; None where the metadata cannot be read or names no array (the checkpoint is then
  damaged)."""
  try:
    tree = ocp.StandardCheckpointer().metadata(os.path.join(path, "default")).item_metadata
    leaves = jax.tree_util.tree_flatten_with_path(tree.tree if hasattr(tree, "tree") else tree)
  except Exception:  # pylint: disable=broad-except  # Orbax raises many types here
    return None
  shapes = {_leaf_name(k): tuple(v.shape) for k, v in leaves[0]}
  return shapes or None  # emptied metadata reads as no arrays: damaged, not another config


def check_shapes(path: str, state: Any) -> None:
  """Raises CheckpointMismatchError naming the first array of `state` [a pytree] that the
  checkpoint at `path` stores with another shape, or holds when `state` has no such array (or
  the reverse); a checkpoint whose metadata cannot be read passes (its restore then fails)."""
  stored = stored_shapes(path)
  if stored is None:
    return
  wanted = {_leaf_name(k): tuple(v.shape)
            for k, v in jax.tree_util.tree_flatten_with_path(state)[0]}
  for name in sorted(set(wanted) | set(stored)):
    if wanted.get(name) != stored.get(name):
      what = (f"stores {name} with shape {stored[name]} where the config builds "
              f"{wanted[name]}" if name in wanted and name in stored else
              f"stores {name}, which the config does not build" if name in stored else
              f"has no {name}, which the config builds")
      raise CheckpointMismatchError(
          f"checkpoint {path} {what}: evaluate or resume with the config it was trained with "
          "(the workdir's config.json); the checkpoint is left as it is")


def restore_latest(mngr: ocp.CheckpointManager, state: Any) -> Tuple[Any, Optional[int]]:
  """The latest readable checkpoint of `mngr`, restored into the structure of `state`.

  An unreadable checkpoint (truncated, corrupt) is reported by path, moved aside to
  `<step>.corrupt` so later saves can reuse its step, and the one before it is used. A readable
  one whose arrays differ from `state`'s (another config) is refused and never moved.

  Args:
    mngr: the workdir's manager (`manager`).
    state: a pytree of the arrays to restore (their shapes, dtypes and shardings are used).

  Returns:
    (restored state, its step), or (state, None) when there is no checkpoint.

  Raises:
    CorruptCheckpointError: checkpoints exist but none can be read.
    CheckpointMismatchError: the latest checkpoint holds other arrays than `state`.
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  if not steps:
    return state, None
  abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, state)
  unreadable = []
  for step in steps:
    check_shapes(os.path.join(str(mngr.directory), str(step)), state)
    try:
      return mngr.restore(step, args=ocp.args.StandardRestore(abstract)), step
    except Exception as e:  # pylint: disable=broad-except  # Orbax raises many types here
      path = os.path.join(str(mngr.directory), str(step))
      unreadable.append(f"{path} ({type(e).__name__})")
      logging.warning("Checkpoint %s is unreadable (%s: %s); trying the one before it.", path,
                      type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
      if jax.process_index() == 0 and os.path.isdir(path):
        os.replace(path, path + ".corrupt")
      mngr.reload()
  raise CorruptCheckpointError("No readable checkpoint: " + "; ".join(unreadable))


def restore_trained(workdir: str, state: Any, *, keep: int = 3) -> Tuple[Any, int]:
  """(state, step) of the latest checkpoint in `workdir`; FileNotFoundError if there is none."""
  mngr = manager(workdir, keep=keep)
  try:
    restored, step = restore_latest(mngr, state)
  finally:
    mngr.close()
  if step is None:
    raise FileNotFoundError(f"No checkpoint in {os.path.abspath(workdir)}/checkpoints: train first "
                            "with --mode=train (the default).")
  return restored, step


def save(mngr: ocp.CheckpointManager, step: int, state: Any, *, force: bool = False) -> bool:
  """Saves `state` at `step` (asynchronously); `force` ignores the save interval."""
  return mngr.save(step, args=ocp.args.StandardSave(state), force=force)
