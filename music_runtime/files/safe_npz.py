"""Loads .npz files whose arrays are pickled object arrays, without running arbitrary code.

`Jsb16thSeparated.npz` stores each split as a Python-2 pickle of an object array of float arrays,
so `numpy.load` needs `allow_pickle=True`, which lets a crafted file import and call anything.
Here the pickle stream is read by an unpickler that can only rebuild NumPy arrays and dtypes.
"""

import io
import os
import pickle
import zipfile
import zlib
from typing import Union

import numpy as np

class UnsafeNpzError(ValueError):
  """The file is not a plain NumPy archive of numeric arrays."""


class _ArrayOnlyUnpickler(pickle.Unpickler):

  def __init__(self, file, source):
    super().__init__(file, encoding="latin1")
    self._source = source

  def find_class(self, module, name):
    if (module, name) in _ALLOWED_GLOBALS:
      return _ALLOWED_GLOBALS[(module, name)]
    raise UnsafeNpzError(
        f"{self._source}: the pickle asks for {module}.{name}; only NumPy arrays are allowed "
        "(refusing to load a file that could run code)")


def _reconstruct(subtype, shape, dtype_code):
  if subtype is not np.ndarray:
    raise UnsafeNpzError(f"pickled array of unexpected type {subtype!r}")
  return np.ndarray.__new__(subtype, shape, dtype_code)


# The only globals a pickled ndarray needs (NumPy 1 and 2 module paths).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


def _read_member(archive, member, source):
  try:
    with archive.open(member) as f:
      raw = f.read()
  except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:  # bad CRC, truncated data
    raise UnsafeNpzError(f"{source}[{member}]: corrupt archive member ({e}); download the "
                         "file again") from e
  stream = io.BytesIO(raw)
  version = np.lib.format.read_magic(stream)
  read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                 else np.lib.format.read_array_header_2_0)
  shape, fortran_order, dtype = read_header(stream, max_header_size=1 << 20)
  if not dtype.hasobject:
    array = np.frombuffer(raw, dtype=dtype, offset=stream.tell(),
                          count=int(np.prod(shape, dtype=np.int64)))
    return array.reshape(shape, order="F" if fortran_order else "C").copy()
  try:
    array = _ArrayOnlyUnpickler(stream, f"{source}[{member}]").load()
  except UnsafeNpzError:
    raise
  except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as e:
    raise UnsafeNpzError(f"{source}[{member}]: corrupt pickled array ({e})") from e
  if not isinstance(array, np.ndarray):
    raise UnsafeNpzError(f"{source}[{member}]: holds {type(array).__name__}, not an array")
  return array


def load_npz(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
  """Returns {name: array} for an .npz, rebuilding object arrays of arrays safely."""
  source = os.fspath(path)
  try:
    archive = zipfile.ZipFile(source)
  except (zipfile.BadZipFile, OSError) as e:
    raise UnsafeNpzError(f"{source}: not a readable .npz archive ({e})") from e
  with archive:
    members = [m for m in archive.namelist() if m.endswith(".npy")]
    try:
      return {m[: -len(".npy")]: _read_member(archive, m, source) for m in members}
    except (ValueError, EOFError) as e:
      if isinstance(e, UnsafeNpzError):
        raise
      raise UnsafeNpzError(f"{source}: corrupt array ({e})") from e
