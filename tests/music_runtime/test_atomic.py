"""Atomic writes: a failed write leaves the previous file whole and no temporary file."""

import json
import os

import pytest

from music_runtime.files import atomic


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
  path = tmp_path / "report.json"
  atomic.write_json(str(path), {"a": 1})
  with pytest.raises(TypeError):
    atomic.write_json(str(path), {"a": object()})  # fails while serialising
  assert json.loads(path.read_text()) == {"a": 1}
  assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left
