"""Atomic file writes: a temporary file in the same folder, then a rename, so that a killed or
failed write leaves the previous file whole (below every module that writes workdir files)."""

import json
import os
import tempfile
from typing import Any


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` through a temporary file and a rename, so that a killed or failed
  write leaves the previous file whole. The file gets the mode `open` would give it (0666 less
  the umask), not the temporary file's private 0600."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                             suffix=".tmp")
  try:
    with os.fdopen(fd, "w") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_json(path: str, data: Any, **kwargs: Any) -> None:
  """`json.dump(data)` into `path`, atomically (see `write_text`)."""
  write_text(path, json.dumps(data, **kwargs))
