"""music_runtime.files.report_staging: a report's files land all together or not at all."""

import json
import os

import pytest

from music_runtime.files import report_staging
from music_runtime.files import workdir_utils


def _write_set(stage, run):
  figure = os.path.join(stage.folder, "fig.png")
  with open(figure, "w") as f:
    f.write(run)
  os.makedirs(os.path.join(stage.folder, "audio"))
  with open(os.path.join(stage.folder, "audio", "clip.mid"), "w") as f:
    f.write(run)
  report = stage.final({"run": run, "media": {"figure": figure, "list": [figure], "n": 3}})
  workdir_utils.write_report(stage.folder, report, f"# {run}\n\n![fig](fig.png)\n")
  return report


def test_a_finished_report_replaces_the_old_set_and_names_its_final_paths(tmp_path):
  workdir = str(tmp_path)
  with report_staging.staged(workdir) as stage:
    _write_set(stage, "old")
  with report_staging.staged(workdir) as stage:
    report = _write_set(stage, "new")
  assert report["media"] == {"figure": os.path.join(workdir, "fig.png"),
                             "list": [os.path.join(workdir, "fig.png")], "n": 3}
  assert json.load(open(tmp_path / "report.json"))["run"] == "new"
  assert (tmp_path / "fig.png").read_text() == "new"
  assert (tmp_path / "audio" / "clip.mid").read_text() == "new"
  assert "<h1>new</h1>" in (tmp_path / "REPORT.html").read_text()
  assert not (tmp_path / report_staging.STAGE_FOLDER).exists()


@pytest.mark.parametrize("interrupt", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_an_interrupted_report_leaves_the_old_set_whole(tmp_path, interrupt):
  workdir = str(tmp_path)
  with report_staging.staged(workdir) as stage:
    _write_set(stage, "old")
  before = {n: (tmp_path / n).read_text() for n in ("fig.png", "report.json", "REPORT.md",
                                                     "REPORT.html")}
  with pytest.raises(interrupt):
    with report_staging.staged(workdir) as stage:
      figure = os.path.join(stage.folder, "fig.png")
      with open(figure, "w") as f:
        f.write("new")  # a new figure is written, then the report is stopped
      raise interrupt()
  assert {n: (tmp_path / n).read_text() for n in before} == before
  assert not (tmp_path / report_staging.STAGE_FOLDER).exists()


def test_a_killed_reports_staging_folder_is_cleared_by_the_next(tmp_path):
  stale = tmp_path / report_staging.STAGE_FOLDER
  stale.mkdir()
  (stale / "fig.png").write_text("of a killed report")
  with report_staging.staged(str(tmp_path)) as stage:
    _write_set(stage, "new")
  assert (tmp_path / "fig.png").read_text() == "new"
