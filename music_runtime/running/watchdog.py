"""A watchdog for batch jobs: a run that stops making progress dumps its stacks and exits.

Both trainers and the DKM report call `Watchdog.beat(what)` after each step or report stage. If
no beat arrives within `timeout_s`, every thread's Python stack is written to
`workdir/hang_stacks.txt` (faulthandler), a message naming the last stage is logged, and the
process exits with status 3, so a cluster job never hangs silently.
"""

import faulthandler
import os
import sys
import threading
import time

from absl import logging

HANG_EXIT_CODE = 3
STACKS_FILE = "hang_stacks.txt"


class Watchdog:
  """Context manager; `timeout_s` <= 0 disables it."""

  def __init__(self, workdir, timeout_s, *, exit_fn=os._exit):  # pylint: disable=protected-access
    self._workdir, self._timeout = workdir, float(timeout_s)
    self._exit = exit_fn
    self._last, self._what = time.monotonic(), "start"
    self._stop = threading.Event()
    self._thread = None
    self.fired = False

  def beat(self, what):
    self._last, self._what = time.monotonic(), what

  def _watch(self):
    period = min(1.0, self._timeout / 4)
    while not self._stop.wait(period):
      idle = time.monotonic() - self._last
      if idle > self._timeout:
        self._fire(idle)
        return

  def _fire(self, idle):
    self.fired = True
    os.makedirs(self._workdir, exist_ok=True)
    path = os.path.join(self._workdir, STACKS_FILE)
    with open(path, "w") as f:
      f.write(f"No progress for {idle:.0f}s after: {self._what}\n\n")
      f.flush()
      faulthandler.dump_traceback(file=f, all_threads=True)
    message = (f"Watchdog: no progress for {idle:.0f}s (limit {self._timeout:.0f}s, "
               f"config.watchdog_seconds) after {self._what}; thread stacks written to {path}. "
               "Exiting with status 3.")
    logging.error(message)
    print(message, file=sys.stderr, flush=True)
    self._exit(HANG_EXIT_CODE)

  def __enter__(self):
    if self._timeout > 0:
      self._last = time.monotonic()
      self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
      self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
    return False
