"""music_runtime.files.claims: a claim's verdict and the claims tables, as REPORT.md shows them."""

from music_runtime.files import claims


def test_verdicts_show_their_rule_and_rows_without_one_a_dash():
  held = claims.Claim("recall >= 90%", "97.7%", "hold 25.8%", True, rule=">= 90%")
  missed = claims.Claim("half <= 2.0 nats", "2.019", "-", False, rule="<= 2.0",
                        reason="validation NLL 1.17")
  shown = claims.Claim("bytes", "757,760", "-", None)
  assert claims.verdict(held).endswith("(>= 90%)") and "not" not in claims.verdict(held)
  assert "not held" in claims.verdict(missed)
  assert claims.verdict(shown) == "-"
  lines = claims.claims_table([held, missed, shown], first="target", with_reason=True)
  assert lines[0] == "| target | ours | baselines | verdict | measured reason |"
  assert lines[1] == "| --- | --- | --- | --- | --- |"
  assert lines[2].endswith("|  |")  # a held claim needs no reason
  assert lines[3].endswith("| validation NLL 1.17 |")
  with_paper = claims.claims_table([held._replace(paper="95%")], with_paper=True)
  assert with_paper[0].startswith("| claim (paper section) | paper | ours |")
  assert with_paper[2].startswith("| recall >= 90% | 95% | 97.7% |")
