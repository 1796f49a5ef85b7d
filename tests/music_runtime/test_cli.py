"""music_runtime.running.cli: a user error is one line and exit 2; a bug keeps its traceback."""

import errno
import json
import os
import subprocess
import sys

import pytest

from music_runtime.files import workdir_lock
from music_runtime.running import cli


def _raising(error):
  def main(argv):
    del argv
    raise error
  return main


def _exit_line(capsys, error):
  with pytest.raises(SystemExit) as exited:
    cli.call_main(_raising(error), ["prog"])
  lines = capsys.readouterr().err.splitlines()
  assert exited.value.code == 2 and len(lines) == 1
  return lines[0]


def test_a_full_disk_is_one_line_naming_the_file(capsys):
  line = _exit_line(capsys, OSError(errno.ENOSPC, "No space left on device", "/w/report.json"))
  assert line == ("error: /w/report.json: No space left on device; nothing after this point was "
                  "written")


def test_runtime_user_errors_are_one_line_and_long_values_are_cut(capsys):
  assert _exit_line(capsys, workdir_lock.WorkdirLockedError("runs/x is in use by pid 7")) == (
      "error: runs/x is in use by pid 7")
  line = _exit_line(capsys,
                    workdir_lock.WorkdirAccessError("--fill_bars=" + ",".join(["1"] * 20000)))
  assert len(line) <= len("error: ") + 1000 and line.endswith(" ...")


def test_a_bug_keeps_its_traceback():
  with pytest.raises(KeyError):
    cli.call_main(_raising(KeyError("a bug")), ["prog"])
  with pytest.raises(OSError):  # an OS error that says nothing about the user's files
    cli.call_main(_raising(OSError(errno.EIO, "I/O")), ["prog"])


@pytest.mark.parametrize("body,message", [
    ("import ml_collections\n\ndef get_config():\n  raise RuntimeError('no data here')\n",
     "the config file raised RuntimeError at line 4: no data here"),
    ("def get_config(:\n", "the config file raised SyntaxError at line 1: invalid syntax")])
def test_a_config_file_that_raises_is_one_line_naming_it(tmp_path, body, message):
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  config = tmp_path / "mine.py"
  config.write_text(body)
  done = subprocess.run([sys.executable, "-m", "kanerva_music.main", f"--config={config}",
                         f"--workdir={tmp_path / 'run'}"], capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
  assert done.stderr.strip().splitlines()[-1] == f"error: --config={config}: {message}"
  assert not (tmp_path / "run").exists()


_STOPPED_IN_A_REPORT = """
import os, signal, sys, time
from music_runtime.files import report_staging, workdir_utils
from music_runtime.running import cli
workdir, how = sys.argv[1], sys.argv[2]

def main(argv):
  with report_staging.staged(workdir) as stage:
    workdir_utils.write_report(stage.folder, {"run": "old"}, "# old\\n")
  with report_staging.staged(workdir) as stage:
    open(os.path.join(stage.folder, "fig.png"), "w").write("new")
    if how == "sigterm":
      os.kill(os.getpid(), signal.SIGTERM)
      time.sleep(30)
    raise KeyboardInterrupt()

sys.argv = sys.argv[:1]
cli.run(main)
"""


@pytest.mark.parametrize("how,code,line", [("sigterm", 143, "terminated (SIGTERM): stopped"),
                                           ("ctrl_c", 130, "interrupted (Ctrl-C): stopped")])
def test_a_stopped_report_is_one_line_and_leaves_the_old_report(tmp_path, how, code, line):
  done = subprocess.run([sys.executable, "-c", _STOPPED_IN_A_REPORT, str(tmp_path), how],
                        capture_output=True, text=True, timeout=60,
                        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
  assert done.returncode == code, done.stderr
  assert done.stderr.strip().splitlines()[-1].startswith(line) and "Traceback" not in done.stderr
  assert json.load(open(tmp_path / "report.json")) == {"run": "old"}
  assert sorted(os.listdir(tmp_path)) == ["REPORT.html", "REPORT.md", "report.json"]
