"""Where a run's data came from: its kind, path and a hash of its content.

The hash is of the arrays a program trains on (after conversion), not of the files, so that it
names the data itself: the same chorales read from another copy hash the same, and a different
file, or the offline fallback in place of the official one, hashes otherwise.
"""

import hashlib
from typing import Iterable, NamedTuple, Tuple

import numpy as np


class DataSource(NamedTuple):
  """A run's data: `kind` (e.g. jsb_file, music21_fallback, folder), `path`, `sha256`."""
  kind: str
  path: str
  sha256: str
  description: str

  def __str__(self):
    return self.description

  def line(self) -> str:
    """`description (sha256 0123456789ab)`, for logs and reports."""
    return f"{self.description} (sha256 {self.sha256[:12]})"

  def record(self) -> dict:
    """The JSON record kept in config.json and report.json."""
    return {"kind": self.kind, "path": self.path, "sha256": self.sha256,
            "description": self.description}


def hash_arrays(named: Iterable[Tuple[str, np.ndarray]]) -> str:
  """SHA-256 over (name, dtype, shape, bytes) of each array, in the order given."""
  digest = hashlib.sha256()
  for name, array in named:
    array = np.ascontiguousarray(array)
    digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.tobytes())
  return digest.hexdigest()
