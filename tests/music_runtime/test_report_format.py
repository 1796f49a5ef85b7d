"""music_runtime.files.report_format: one percent, number and verdict format for every report."""

from music_runtime.files import report_format as fmt


def test_formats():
  assert fmt.pct(0.92849) == "92.8%" and fmt.pct(1.0, 0) == "100%" and fmt.pct(None) == "n/a"
  assert fmt.num(0.76049) == "0.760" and fmt.num(None) == "n/a"
  assert (fmt.held(True), fmt.held(False)) == ("**held**", "**not held**")
  assert (fmt.yes_no(True), fmt.yes_no(False)) == ("yes", "no")
