"""music_runtime.files.workdir_lock: one writer per workdir, stale locks taken over, nothing
left by a refused command."""

import json
import os
import subprocess
import sys
import time

import pytest

from music_runtime.files import workdir_lock

HOLD = """
import sys, time
from music_runtime.files import workdir_lock
with workdir_lock.hold(sys.argv[1]):
  print("held", flush=True)
  time.sleep(60)
"""


def _holding_process(workdir):
  process = subprocess.Popen([sys.executable, "-c", HOLD, str(workdir)], stdout=subprocess.PIPE,
                             text=True, cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
  assert process.stdout.readline().strip() == "held"
  return process


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
  process = _holding_process(tmp_path)
  try:
    assert workdir_lock.is_locked(str(tmp_path))
    with pytest.raises(workdir_lock.WorkdirLockedError, match=f"in use by pid {process.pid} on "):
      with workdir_lock.hold(str(tmp_path)):
        pass
    with pytest.raises(workdir_lock.WorkdirLockedError, match="is a workdir in use"):
      workdir_lock.check_unlocked(str(tmp_path / "out.mid"), "--output")
    (tmp_path / "audio").mkdir()
    with pytest.raises(workdir_lock.WorkdirLockedError, match="is a workdir in use"):
      workdir_lock.check_unlocked(str(tmp_path / "audio" / "x.mid"), "--output")
    outside = tmp_path.parent / f"{tmp_path.name}_link"
    os.symlink(tmp_path / "audio", outside)  # a link from elsewhere into the workdir
    with pytest.raises(workdir_lock.WorkdirLockedError, match="is a workdir in use"):
      workdir_lock.check_unlocked(str(outside / "x.mid"), "--output")
  finally:
    process.kill()
    process.wait()
  # The kernel dropped the dead holder's lock: the next writer takes it over.
  assert not workdir_lock.is_locked(str(tmp_path))
  with workdir_lock.hold(str(tmp_path)):
    holder = json.loads(open(tmp_path / workdir_lock.LOCK_FILE).read())
    assert holder["pid"] == os.getpid()
  assert not (tmp_path / workdir_lock.LOCK_FILE).exists()


def test_a_stale_lock_file_is_taken_over_and_said_in_the_log(tmp_path, caplog):
  (tmp_path / workdir_lock.LOCK_FILE).write_text(json.dumps(
      {"pid": 999999, "host": "elsewhere", "started": time.time() - 3600}))
  with workdir_lock.hold(str(tmp_path)):
    assert workdir_lock.is_locked(str(tmp_path))
  assert "taking over the lock left by pid 999999 on elsewhere" in caplog.text


def test_a_refused_command_leaves_no_new_workdir(tmp_path):
  fresh = tmp_path / "fresh"
  with pytest.raises(ValueError, match="bad config"):
    with workdir_lock.hold(str(fresh)):
      raise ValueError("bad config")
  assert not fresh.exists()
  (tmp_path / "a_file").write_text("x")
  with pytest.raises(workdir_lock.WorkdirAccessError, match="is a file, not a folder"):
    with workdir_lock.hold(str(tmp_path / "a_file")):
      pass
