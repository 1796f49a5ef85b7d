"""One writer per workdir: an exclusive lock held for the whole run.

The lock is `workdir/.lock`, held with `fcntl.flock` (the kernel drops it when its process dies,
however it dies) and holding the holder's pid, host and start time, so that a refused command
can say who holds it. A lock file left by a dead process is taken over and said in the log.
Training, evaluation that writes a report, analysis and generation hold it; reading a workdir
(the completion tool, the ablation table) does not, but never writes into a locked one.
"""

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from typing import Iterator

from absl import logging

LOCK_FILE = ".lock"


class WorkdirLockedError(RuntimeError):
  """Another live process holds the workdir."""


class WorkdirAccessError(OSError):
  """The workdir cannot be created or written (a file, no permission, a full disk)."""


def _holder(fd):
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 4096).decode("utf-8", "replace")
  try:
    return json.loads(text) if text.strip() else None
  except json.JSONDecodeError:
    return {"unreadable": text[:80]}


def _describe(holder):
  if not holder or "pid" not in holder:
    return "another process"
  started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
  return f"pid {holder['pid']} on {holder.get('host', '?')} (since {started})"


def check_writable_dir(path: str, flag: str = "--workdir") -> None:
  """Raises WorkdirAccessError when `path` exists and is not a folder."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise WorkdirAccessError(f"{flag}={path}: is a file, not a folder; pass a folder")


def is_locked(workdir: str) -> bool:
  """Whether a live process holds `workdir`'s lock (without taking it)."""
  path = os.path.join(workdir, LOCK_FILE)
  try:
    fd = os.open(path, os.O_RDONLY)
  except OSError:
    return False
  try:
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
  except OSError:
    return True
  finally:
    os.close(fd)
  return False


def _open_locked(path):
  """An fd holding the exclusive lock on `path` (the file, not one unlinked under us)."""
  while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      holder = _holder(fd)
      os.close(fd)
      if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        raise WorkdirLockedError(
            f"{os.path.dirname(path)} is in use by {_describe(holder)}; nothing was written. "
            "Wait for it to finish, or use another --workdir") from None
      raise
    try:
      same = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
      same = False
    if same:
      return fd
    os.close(fd)  # the holder removed the file between our open and flock: take the new one


@contextlib.contextmanager
def hold(workdir: str) -> Iterator[None]:
  """Holds `workdir`'s lock for the block (process 0 only in multi-process jobs). A workdir
  this creates and leaves empty is removed again, so a refused command leaves nothing."""
  import jax  # pylint: disable=import-outside-toplevel
  if jax.process_index() != 0:
    yield
    return
  check_writable_dir(workdir)
  created = not os.path.exists(workdir)
  path = os.path.join(workdir, LOCK_FILE)
  try:
    os.makedirs(workdir, exist_ok=True)
    fd = _open_locked(path)
  except OSError as e:  # WorkdirLockedError is not an OSError: it passes through
    raise WorkdirAccessError(f"--workdir={workdir}: cannot write there "
                             f"({e.strerror or e}); pass a writable folder") from e
  try:
    previous = _holder(fd)
    if previous and previous.get("pid") is not None:
      logging.warning("Workdir %s: taking over the lock left by %s, which is not running.",
                      workdir, _describe(previous))
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(mine).encode())
    yield
  finally:
    with contextlib.suppress(OSError):
      os.unlink(path)
    os.close(fd)
    if created:
      with contextlib.suppress(OSError):
        os.rmdir(workdir)  # only if still empty


def check_unlocked(path: str, flag: str) -> None:
  """Refuses writing `path` anywhere inside a workdir that a live process holds (its folder or
  any folder above it, links resolved)."""
  folder = os.path.dirname(os.path.realpath(path))
  while True:
    if is_locked(folder):
      raise WorkdirLockedError(f"{flag}={path}: {folder} is a workdir in use by a running job; "
                               "write elsewhere")
    parent = os.path.dirname(folder)
    if parent == folder:
      return
    folder = parent
