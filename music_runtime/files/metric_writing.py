"""Metric writing and progress reporting shared by both trainers.

clu's writers import TensorFlow; tensorboardX writes the same TensorBoard event files without it.
Only process 0 writes, so multi-host jobs log once.
"""

import os
import time
from typing import Any, Mapping, Optional

from absl import logging
import jax


class MetricWriter:
  """Writes scalars to TensorBoard (workdir) and to the log."""

  def __init__(self, logdir: str, *, enabled: Optional[bool] = None):
    self._enabled = jax.process_index() == 0 if enabled is None else enabled
    self._tb: Any = None  # tensorboardX's SummaryWriter, imported only where it writes
    if self._enabled:
      from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
      self._tb = SummaryWriter(logdir, flush_secs=30)

  def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
    """Logs `scalars` at `step` and adds them to TensorBoard (process 0 only)."""
    if not self._enabled:
      return
    logging.info("[%d] %s", step, ", ".join(f"{k}={float(v):.5g}" for k, v in scalars.items()))
    for key, value in scalars.items():
      self._tb.add_scalar(key, float(value), step)

  def close(self) -> None:
    """Flushes and closes the TensorBoard writer."""
    if self._tb is not None:
      self._tb.close()


class Progress:
  """Steps/s and ETA, measured between reports (excludes compilation once warmed up)."""

  def __init__(self, num_steps: int, start_step: int = 0):
    self._num_steps = num_steps
    self._last_step, self._last_time = start_step, time.perf_counter()

  def report(self, step: int) -> dict[str, float]:
    """{"steps_per_sec", "eta_sec"} since the last report, at `step`."""
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self._num_steps - step) / rate if rate > 0 else float("inf")
    return {"steps_per_sec": rate, "eta_sec": eta}


def read_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
  """{tag: [(step, value), ...] sorted by step} from the TensorBoard event files in `logdir`
  (a step written twice, as after a resume, keeps its last value; a record cut short by a
  kill ends its file's reading)."""
  import glob  # pylint: disable=import-outside-toplevel
  import struct  # pylint: disable=import-outside-toplevel
  from tensorboardX.proto import event_pb2  # pylint: disable=import-outside-toplevel
  scalars: dict[str, dict[int, float]] = {}
  for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
    with open(path, "rb") as f:
      content = f.read()
    position = 0
    # TFRecord: uint64 length, uint32 length CRC, the record, uint32 record CRC.
    while position + 12 <= len(content):
      (length,) = struct.unpack("<Q", content[position:position + 8])
      end = position + 12 + length
      if end + 4 > len(content):
        break
      event = event_pb2.Event.FromString(content[position + 12:end])
      for value in event.summary.value:
        scalars.setdefault(value.tag, {})[event.step] = value.simple_value
      position = end + 4
  return {tag: sorted(steps.items()) for tag, steps in scalars.items()}
