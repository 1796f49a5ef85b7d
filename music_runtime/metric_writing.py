"""Metric writing and progress reporting shared by both trainers.

clu's writers import TensorFlow; tensorboardX writes the same TensorBoard event files without it.
Only process 0 writes, so multi-host jobs log once.
"""

import time

from absl import logging
import jax


class MetricWriter:
  """Writes scalars to TensorBoard (workdir) and to the log."""

  def __init__(self, logdir, *, enabled=None):
    self._enabled = jax.process_index() == 0 if enabled is None else enabled
    self._tb = None
    if self._enabled:
      from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
      self._tb = SummaryWriter(logdir, flush_secs=30)

  def write_scalars(self, step, scalars):
    if not self._enabled:
      return
    logging.info("[%d] %s", step, ", ".join(f"{k}={float(v):.5g}" for k, v in scalars.items()))
    for key, value in scalars.items():
      self._tb.add_scalar(key, float(value), step)

  def close(self):
    if self._tb is not None:
      self._tb.close()


class Progress:
  """Steps/s and ETA, measured between reports (excludes compilation once warmed up)."""

  def __init__(self, num_steps, start_step=0):
    self._num_steps = num_steps
    self._last_step, self._last_time = start_step, time.perf_counter()

  def report(self, step):
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self._num_steps - step) / rate if rate > 0 else float("inf")
    return {"steps_per_sec": rate, "eta_sec": eta}
