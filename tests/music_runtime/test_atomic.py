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


def test_written_files_get_the_mode_open_would_give_them(tmp_path):
  previous = os.umask(0o022)
  try:
    atomic.write_text(str(tmp_path / "REPORT.md"), "# Report\n")
    with open(tmp_path / "figure.png", "w") as f:
      f.write("")
  finally:
    os.umask(previous)
  mode = lambda name: os.stat(tmp_path / name).st_mode & 0o777
  assert mode("REPORT.md") == mode("figure.png") == 0o644
