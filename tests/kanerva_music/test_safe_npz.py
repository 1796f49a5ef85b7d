"""music_runtime.files.safe_npz: object arrays read without unpickling code, damage named."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from kanerva_music.data import chorales
from music_runtime.files import safe_npz
from tests.conftest import random_splits, write_object_npz


class Exploit:
  marker = ""

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_rejected_without_running_code(tmp_path):
  marker = tmp_path / "pwned"
  Exploit.marker = str(marker)
  stream = io.BytesIO()
  np.lib.format.write_array_header_1_0(
      stream, {"descr": "|O", "fortran_order": False, "shape": (1,)})
  stream.write(pickle.dumps(Exploit(), protocol=2))
  path = tmp_path / "evil.npz"
  with zipfile.ZipFile(path, "w") as archive:
    for split in chorales.SPLITS:
      archive.writestr(f"{split}.npy", stream.getvalue())
  with pytest.raises(chorales.ChoraleDataError, match=r"evil\.npz.*(posix|os)\.system"):
    chorales.load_npz_chorales(str(path))
  assert not marker.exists()


def test_safe_loader_equals_numpy_pickle_loader(tmp_path):
  rng = np.random.default_rng(0)
  path = tmp_path / "small.npz"
  write_object_npz(path, random_splits(rng))
  ours = safe_npz.load_npz(path)
  with np.load(path, allow_pickle=True) as theirs:  # trusted: we just wrote it
    for split in chorales.SPLITS:
      assert len(ours[split]) == len(theirs[split])
      for a, b in zip(ours[split], theirs[split]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_a_byte_corrupted_member_names_the_file_and_member(tmp_path):
  path = tmp_path / "damaged.npz"
  np.savez_compressed(path, train=np.arange(4000, dtype=np.float64),
                      test=np.arange(10, dtype=np.float64))
  raw = bytearray(path.read_bytes())
  with zipfile.ZipFile(path) as archive:
    info = archive.getinfo("train.npy")
  middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
  raw[middle] ^= 0xFF  # flip one byte inside train.npy's compressed data
  path.write_bytes(bytes(raw))
  with pytest.raises(safe_npz.UnsafeNpzError, match=r"damaged.npz\[train.npy\]: corrupt archive"):
    safe_npz.load_npz(path)
