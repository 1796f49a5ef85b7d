"""music_runtime.running.watchdog: a stalled run dumps its stacks and exits; a live one does not."""

import os
import subprocess
import sys
import time

from music_runtime.running import watchdog


def test_no_beat_dumps_stacks_and_exits_with_status_3(tmp_path):
  codes = []
  with watchdog.Watchdog(str(tmp_path), 0.4, exit_fn=codes.append) as dog:
    dog.beat("training step 7")
    deadline = time.monotonic() + 10
    while not codes and time.monotonic() < deadline:
      time.sleep(0.05)
  assert codes == [watchdog.HANG_EXIT_CODE]
  text = open(tmp_path / watchdog.STACKS_FILE).read()
  assert text.startswith("No progress for") and "after: training step 7" in text
  assert "test_watchdog.py" in text  # the main thread's stack, where it was stuck


def test_regular_beats_keep_it_quiet(tmp_path):
  codes = []
  with watchdog.Watchdog(str(tmp_path), 0.5, exit_fn=codes.append) as dog:
    for step in range(15):
      time.sleep(0.1)
      dog.beat(f"step {step}")
  assert not codes and not os.path.exists(tmp_path / watchdog.STACKS_FILE)


def test_a_real_hang_ends_the_process(tmp_path):
  code = ("import time\nfrom music_runtime.running import watchdog\n"
          f"with watchdog.Watchdog({str(tmp_path)!r}, 0.5):\n  time.sleep(60)\n")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
  assert out.returncode == watchdog.HANG_EXIT_CODE
  assert "Watchdog: no progress" in out.stderr and watchdog.STACKS_FILE in out.stderr
