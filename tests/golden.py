"""Golden-output checks for the Markdown renderers: a stored report.json renders to exactly the
stored REPORT.md.

After a deliberate change to a renderer, rewrite the expected files and review their diff:
  UPDATE_GOLDEN=1 python -m pytest -q tests -k golden
"""

import json
import os


def load_report(path):
  with open(path) as f:
    return json.load(f)


def check(rendered: str, expected_path: str):
  """Asserts `rendered` equals the file (or rewrites it under UPDATE_GOLDEN=1)."""
  if os.environ.get("UPDATE_GOLDEN"):
    with open(expected_path, "w") as f:
      f.write(rendered)
  with open(expected_path) as f:
    expected = f.read()
  assert rendered == expected, (f"{expected_path} differs from the rendering; if the change is "
                                "meant, rerun with UPDATE_GOLDEN=1 and review the diff")


def rounded(report, digits=6):
  """report.json with floats to `digits` significant digits (a smaller stored fixture)."""
  if isinstance(report, float):
    return float(f"{report:.{digits}g}")
  if isinstance(report, dict):
    return {k: rounded(v, digits) for k, v in report.items()}
  if isinstance(report, list):
    return [rounded(v, digits) for v in report]
  return report
