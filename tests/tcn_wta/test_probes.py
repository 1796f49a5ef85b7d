"""tcn_wta.applications.probes: style probes, grouped cross-validation, class centroids."""

import numpy as np
import pytest

from tcn_wta.applications import probes


def test_probe_separates_two_synthetic_styles_and_majority_is_the_baseline():
  rng = np.random.default_rng(0)
  labels = np.array(["swing"] * 30 + ["straight"] * 20)
  separable = np.where(labels[:, None] == "swing", 1.0, -1.0) + 0.1 * rng.normal(size=(50, 4))
  noise = rng.normal(size=(50, 4))
  result = probes.cross_validated({"good": separable, "noise": noise}, labels, folds=5)
  assert result["probe/good"]["mean"] == 1.0 and result["centroid/good"]["mean"] == 1.0
  assert result["majority"]["mean"] == pytest.approx(0.6)
  assert result["classes"] == 2 and result["pieces"] == 50 and result["left_out"] == 0
  # A class with fewer pieces than folds is left out; one class left: nothing to detect.
  assert probes.cross_validated({"x": noise[:7]}, np.array(["a"] * 5 + ["b"] * 2), 5) is None


def test_grouped_cross_validation_keeps_each_group_on_one_side():
  # 20 pieces, 2 performances each of 10 titles; the feature is the title itself and the label a
  # random property of the title. Ungrouped folds test on titles seen in training (near perfect);
  # grouped folds never do, so the title-as-feature probe is at chance.
  rng = np.random.default_rng(0)
  titles = np.repeat(np.arange(10), 2)
  title_label = np.array(["a", "b"] * 5)
  labels = title_label[titles]
  features = {"title": np.eye(10)[titles] + 0.01 * rng.normal(size=(20, 10))}
  ungrouped = probes.cross_validated(features, labels, folds=2, seed=0)
  grouped = probes.cross_validated(features, labels, folds=2, seed=0, groups=titles)
  assert ungrouped["probe/title"]["mean"] >= 0.85 and not ungrouped["grouped"]
  assert grouped["probe/title"]["mean"] <= 0.6 and grouped["grouped"]


def test_centroid_distances_say_whether_the_middle_class_lies_between():
  rng = np.random.default_rng(0)
  labels = np.repeat(np.array(["early", "middle", "late"]), 20)
  centre = {"early": 0.0, "middle": 1.0, "late": 3.0}
  features = np.stack([[centre[y] + 0.05 * rng.normal(), rng.normal()] for y in labels])
  ordered = probes.centroid_distances(features, labels, ["early", "middle", "late"])
  assert ordered["middle_between"] and ordered["pieces"] == {"early": 20, "middle": 20, "late": 20}
  d = ordered["distances"]
  assert d["early|late"] > d["middle|late"] > d["early|middle"]
  assert not probes.centroid_distances(features, labels, ["middle", "early", "late"])[
      "middle_between"]
