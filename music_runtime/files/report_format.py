"""The number formats every report shares (REPORT.md of both models, the ablation tables)."""

from typing import Optional


def pct(value: Optional[float], digits: int = 1) -> str:
  """A fraction as a percentage, `digits` after the point; None is "n/a"."""
  return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def num(value: Optional[float], digits: int = 3) -> str:
  """A number with `digits` after the point; None is "n/a"."""
  return "n/a" if value is None else f"{value:.{digits}f}"


def held(ok: bool) -> str:
  """Whether a paper's claim held in our measurement, as the claim tables write it."""
  return "**held**" if ok else "**not held**"


def yes_no(ok: bool) -> str:
  """A measured fact inside a sentence ("on the grid: yes")."""
  return "yes" if ok else "no"
