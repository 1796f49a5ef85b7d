"""The claims tables both models' reports open with: one record per claim, one table builder.

A claim's verdict is decided in the measuring code against a threshold kept as data (each
report's THRESHOLDS); the record carries the verdict and the rule that decided it, and the
renderers here only format them.
"""

from typing import NamedTuple, Optional, Sequence

from music_runtime.files import report_format as fmt


class Claim(NamedTuple):
  """One row of a claims table.

  Attributes:
    claim: the paper's claim, with its section, or a target beyond the paper.
    ours: our measurement.
    baseline: what the measurement must beat ("-": nothing).
    held: the verdict; None where the row only reports.
    rule: how the verdict was decided ("within 0.1"), shown beside it.
    paper: the paper's own figure ("" where the table has no such column).
    reason: for a verdict that did not hold, what the measurements say went wrong.
  """
  claim: str
  ours: str
  baseline: str
  held: Optional[bool]
  rule: str = ""
  paper: str = ""
  reason: str = ""


def verdict(claim: Claim) -> str:
  """"**held**" / "**not held**" with the rule in brackets; "-" for a row with no verdict."""
  if claim.held is None:
    return "-"
  return fmt.held(claim.held) + (f" ({claim.rule})" if claim.rule else "")


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list:
  """Markdown lines of a table: the header, its rule, then one line per row of cells."""
  return (["| " + " | ".join(columns) + " |", "| --- " * len(columns) + "|"]
          + ["| " + " | ".join(row) + " |" for row in rows])


def claims_table(claims: Sequence[Claim], *, first: str = "claim (paper section)",
                 with_paper: bool = False, with_reason: bool = False) -> list:
  """The claims as Markdown table lines: `first` heads the claims' column; `with_paper` adds the
  paper's figure, `with_reason` the reason a verdict did not hold."""
  columns = [first] + (["paper"] if with_paper else []) + ["ours", "baselines", "verdict"]
  columns += ["measured reason"] if with_reason else []
  rows = [[c.claim] + ([c.paper] if with_paper else []) + [c.ours, c.baseline, verdict(c)]
          + ([c.reason if c.held is False else ""] if with_reason else []) for c in claims]
  return table(columns, rows)
