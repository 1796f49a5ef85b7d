"""kanerva_music.reporting.claims: each of the linear DKM report's verdicts follows its
measurements and its threshold (the golden report's figures)."""

import copy
import os

from configs import chorales as chorales_config
from kanerva_music.reporting import claims
from tests import golden

HERE = os.path.join(os.path.dirname(__file__), "golden")


def _report():
  return golden.load_report(os.path.join(HERE, "linear_report.json"))


def test_linear_claims_follow_their_thresholds(monkeypatch):
  """A verdict moves with its threshold, which is data: the ELBO claim at a looser tolerance."""
  report = _report()
  config = chorales_config.get_config("quick")
  elbo = report["elbo_bits_per_dim"]["test"]["mean"]
  first = claims.paper_claims(report, config)[0]
  assert first.held is (abs(elbo - 0.76) <= 0.1)
  monkeypatch.setitem(claims.THRESHOLDS, "elbo_within_bits", abs(elbo - 0.76) + 1.0)
  looser = claims.paper_claims(report, config)[0]
  assert looser.held and looser.rule == f"within {abs(elbo - 0.76) + 1.0:g}"


def test_each_verdict_follows_the_measurement_it_names():
  config = chorales_config.get_config("quick")
  report = _report()
  by_claim = {c.claim.split(" (")[0]: c for c in claims.paper_claims(report, config)}
  # The golden run: denoising flat from iteration 1 (35.4%), stored - unseen +91.6 points.
  assert by_claim["denoising converges after about 3 iterations"].held
  assert not by_claim["denoised output almost the original"].held
  assert by_claim["the memory remembers: stored beats holding the last chord and unseen"].held
  beyond = by_claim["beyond the paper: in 16 KB"]
  assert not beyond.held and "lstsq 32, attention 32" in beyond.ours
  assert "list of pitch bytes 128" in beyond.baseline
  # A denoising read that decays after iteration 1 breaks the convergence claim.
  decayed = copy.deepcopy(report)
  exact = decayed["denoise"]["acc_exact"]
  exact[-1] = exact[1] - 0.05
  changed = {c.claim.split(" (")[0]: c for c in claims.paper_claims(decayed, config)}
  assert not changed["denoising converges after about 3 iterations"].held
  # Stored no better than unseen: the memory does not remember.
  forgot = copy.deepcopy(report)
  forgot["memory_use"]["half_exact_stored_minus_unseen"] = 0.1
  assert not {c.claim: c for c in claims.paper_claims(forgot, config)}[
      "the memory remembers: stored beats holding the last chord and unseen"].held
