"""music_runtime.files.provenance: the data's hash names its content, not its file."""

import hashlib

import numpy as np

from music_runtime.files import provenance


def test_the_hash_is_sha256_over_name_dtype_shape_and_bytes_in_order():
  a = np.arange(6, dtype=np.int32).reshape(2, 3)
  digest = hashlib.sha256()
  digest.update(b"train|<i4|(2, 3)|")
  digest.update(a.tobytes())
  assert provenance.hash_arrays([("train", a)]) == digest.hexdigest()
  same = provenance.hash_arrays([("train", np.asfortranarray(a))])  # another memory layout
  assert same == digest.hexdigest()


def test_any_change_of_content_name_type_shape_or_order_changes_the_hash():
  a, b = np.arange(6, dtype=np.int32), np.ones(3, np.float32)
  base = provenance.hash_arrays([("train", a), ("test", b)])
  changed = [[("train", a + (np.arange(6) == 5)), ("test", b)],
             [("valid", a), ("test", b)],
             [("train", a.astype(np.int64)), ("test", b)],
             [("train", a.reshape(2, 3)), ("test", b)],
             [("test", b), ("train", a)]]
  hashes = {provenance.hash_arrays(named) for named in changed}
  assert base not in hashes and len(hashes) == len(changed)


def test_a_source_line_and_record():
  source = provenance.DataSource("jsb_file", "/data/jsb.npz", "ab" * 32, "JSB chorales")
  assert source.line() == "JSB chorales (sha256 abababababab)" and str(source) == "JSB chorales"
  assert source.record() == {"kind": "jsb_file", "path": "/data/jsb.npz", "sha256": "ab" * 32,
                             "description": "JSB chorales"}
