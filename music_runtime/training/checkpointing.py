"""Orbax checkpointing shared by both trainers: periodic saves and automatic resume."""

import os
from typing import Any, Optional, Sequence, Tuple

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


class CorruptCheckpointError(ValueError):
  """Checkpoints exist but none of them can be read."""


class CheckpointBusyError(RuntimeError):
  """No checkpoint is finished yet but one is being written (a trainer is saving)."""


class CheckpointMismatchError(ValueError):
  """A checkpoint holds other arrays than the config builds: the config's fault, not the
  file's, so the checkpoint is left where it is."""


def _leaf_name(path: Sequence[Any]) -> str:
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


def _being_written(directory: str) -> list:
  """Names of the checkpoint folders in `directory` that Orbax has not finished writing."""
  try:
    return sorted(n for n in os.listdir(directory) if ".orbax-checkpoint-tmp" in n)
  except OSError:
    return []


def restore_latest(mngr: ocp.CheckpointManager, state: Any, *,
                   move_aside: bool = True) -> Tuple[Any, Optional[int]]:
  """The latest readable checkpoint of `mngr`, restored into the structure of `state`.

  An unreadable checkpoint (truncated, corrupt) is reported by path and the one before it is
  used; with `move_aside` (the trainer's resume, which owns the workdir) it is also moved to
  `<step>.corrupt` so later saves can reuse its step. A reader beside a running trainer passes
  `move_aside=False`: a checkpoint the trainer removes while it is read is not damage, and the
  list of steps is read again. A readable checkpoint whose arrays differ from `state`'s
  (another config) is refused and never moved.

  Args:
    mngr: the workdir's manager (`manager`).
    state: a pytree of the arrays to restore (their shapes, dtypes and shardings are used).
    move_aside: rename unreadable checkpoints to `<step>.corrupt`.

  Returns:
    (restored state, its step), or (state, None) when there is no checkpoint.

  Raises:
    CorruptCheckpointError: checkpoints exist but none can be read.
    CheckpointBusyError: none is finished yet but one is being written.
    CheckpointMismatchError: the latest checkpoint holds other arrays than `state`.
  """
  abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, state)
  unreadable, tried = [], set()
  for _ in range(8):  # a trainer may finish or remove steps while they are listed and read
    steps = [s for s in sorted(mngr.all_steps(), reverse=True) if s not in tried]
    if not steps:
      break
    step = steps[0]
    path = os.path.join(str(mngr.directory), str(step))
    check_shapes(path, state)
    try:
      return mngr.restore(step, args=ocp.args.StandardRestore(abstract)), step
    except Exception as e:  # pylint: disable=broad-except  # Orbax raises many types here
      mngr.reload()
      if not os.path.isdir(path):  # removed by its trainer as it was read: list again
        continue
      tried.add(step)
      unreadable.append(f"{path} ({type(e).__name__})")
      logging.warning("Checkpoint %s is unreadable (%s: %s); trying the one before it.", path,
                      type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
      if move_aside and jax.process_index() == 0:
        os.replace(path, path + ".corrupt")
        mngr.reload()
  if unreadable:
    raise CorruptCheckpointError("No readable checkpoint: " + "; ".join(unreadable))
  if _being_written(str(mngr.directory)):
    directory = str(mngr.directory)
    require_checkpoint(os.path.dirname(directory), os.path.basename(directory))  # busy
  return state, None


def restore_trained(workdir: str, state: Any, *, keep: int = 3) -> Tuple[Any, int]:
  """(state, step) of the latest checkpoint in `workdir`, read as a reader (never moving a
  checkpoint aside: a trainer may be writing the workdir); FileNotFoundError if there is none,
  CheckpointBusyError while the first one is being written."""
  mngr = manager(workdir, keep=keep)
  try:
    restored, step = restore_latest(mngr, state, move_aside=False)
  finally:
    mngr.close()
  if step is None:
    raise FileNotFoundError(f"No checkpoint in {os.path.abspath(workdir)}/checkpoints: train first "
                            "with --mode=train (the default).")
  return restored, step


def require_checkpoint(workdir: str, folder: str = "checkpoints") -> None:
  """Raises what `restore_trained` would for a workdir with no finished checkpoint
  (FileNotFoundError, or CheckpointBusyError while one is being written), before a program
  spends minutes on data it cannot use."""
  folder = os.path.join(os.path.abspath(workdir), folder)
  names = os.listdir(folder) if os.path.isdir(folder) else []
  if any(name.isdigit() for name in names):
    return
  busy = _being_written(folder)
  if busy:
    raise CheckpointBusyError(f"{folder}: no finished checkpoint yet; {busy[-1]} is being "
                              "written by a trainer: try again when its save is done")
  raise FileNotFoundError(f"No checkpoint in {folder}: train first with --mode=train (the "
                          "default).")


def save(mngr: ocp.CheckpointManager, step: int, state: Any, *, force: bool = False) -> bool:
  """Saves `state` at `step` (asynchronously); `force` ignores the save interval."""
  return mngr.save(step, args=ocp.args.StandardSave(state), force=force)
