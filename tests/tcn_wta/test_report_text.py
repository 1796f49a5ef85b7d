"""The TCN k-WTA report's Markdown renderer against stored golden output, and its claims'
thresholds."""

import os

from configs import groove as groove_config
from tcn_wta.reporting import claims
from tcn_wta.reporting import report_text
from tests import golden

HERE = os.path.join(os.path.dirname(__file__), "golden")


def _report():
  return golden.load_report(os.path.join(HERE, "groove_report.json"))


def test_groove_report_renders_as_stored():
  config = groove_config.get_config("quick")
  golden.check(report_text.markdown(config, _report(), "/workdir"),
               os.path.join(HERE, "groove_REPORT.md"))


def test_reconstruction_verdict_follows_its_threshold(monkeypatch):
  report = _report()
  f1 = report["reconstruction"]["hit_f1"]
  monkeypatch.setitem(claims.THRESHOLDS, "reconstruction", f1 - 0.01)
  assert claims.reconstruction_claim(report, "hit_f1")[0].held
  monkeypatch.setitem(claims.THRESHOLDS, "reconstruction", f1 + 0.01)
  claim = claims.reconstruction_claim(report, "hit_f1")[0]
  assert not claim.held and claim.rule == f"hit_f1 > {f1 + 0.01:g}"
