"""A report's files written all or nothing: figures, audio, report.json, REPORT.md and
REPORT.html go to a staging folder inside the workdir and are moved into place only once the
whole set is written (the three report files last), so that an interrupted or failed report
leaves the previous one whole and never links a figure of another run."""

import contextlib
import os
import shutil
from typing import Any, Iterator, NamedTuple

STAGE_FOLDER = ".report-staging"
# Moved last, in this order: a reader that finds the new REPORT.html finds every file it links.
REPORT_FILES = ("report.json", "REPORT.md", "REPORT.html")


class Stage(NamedTuple):
  """Where a report's files are written (`folder`) and where they will lie (`workdir`)."""
  folder: str
  workdir: str

  def final(self, value: Any) -> Any:
    """`value` (a path, or a dict/list/tuple holding paths) with every path inside the staging
    folder replaced by the path its file will have in the workdir."""
    if isinstance(value, str):
      if value == self.folder or value.startswith(self.folder + os.sep):
        return os.path.join(self.workdir, os.path.relpath(value, self.folder))
      return value
    if isinstance(value, dict):
      return {k: self.final(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
      return type(value)(*(self.final(v) for v in value))
    if isinstance(value, (list, tuple)):
      return type(value)(self.final(v) for v in value)
    return value


def _staged_files(folder: str) -> list:
  found = []
  for root, _, names in os.walk(folder):
    found += [os.path.relpath(os.path.join(root, n), folder) for n in names]
  media = sorted(f for f in found if f not in REPORT_FILES)
  return media + [f for f in REPORT_FILES if f in found]


@contextlib.contextmanager
def staged(workdir: str) -> Iterator[Stage]:
  """A `Stage` to write a report into; on a clean exit its files replace the workdir's (media
  first, then report.json, REPORT.md, REPORT.html), on any exception or interrupt they are
  removed and the workdir's report is left as it was. A staging folder left by a killed report
  is removed first (the caller holds the workdir's lock)."""
  folder = os.path.join(workdir, STAGE_FOLDER)
  shutil.rmtree(folder, ignore_errors=True)
  os.makedirs(folder)
  try:
    yield Stage(folder, workdir)
    for name in _staged_files(folder):
      target = os.path.join(workdir, name)
      os.makedirs(os.path.dirname(target), exist_ok=True)
      os.replace(os.path.join(folder, name), target)
  finally:
    shutil.rmtree(folder, ignore_errors=True)
