"""Detection, stylistic segmentation and composer comparison from per-piece features
(docs/tcn_wta.md, "Applications", 5-6).

Every score is a stratified k-fold cross-validated accuracy over the pieces (the test splits hold
too few pieces per class for a stable number): a logistic-regression probe, a nearest-centroid
classifier and the majority class of the training folds. Classes with fewer pieces than folds
are left out and counted. With `groups` (MAESTRO: the canonical title, as many pieces are played
several times) the folds keep every group on one side, so a piece is never both trained and
tested on.
"""

import collections

import numpy as np
from sklearn import decomposition
from sklearn import feature_selection
from sklearn import linear_model
from sklearn import model_selection
from sklearn import neighbors
from sklearn import pipeline
from sklearn import preprocessing


def _classifiers():
  return {
      "probe": lambda: pipeline.make_pipeline(
          preprocessing.StandardScaler(), linear_model.LogisticRegression(max_iter=2000)),
      # Atoms no piece uses are constant features: dropped, they only carry zero variance.
      "centroid": lambda: pipeline.make_pipeline(
          feature_selection.VarianceThreshold(), preprocessing.StandardScaler(),
          neighbors.NearestCentroid()),
  }


def usable(labels, folds):
  """Boolean mask of pieces whose class has at least `folds` pieces."""
  counts = collections.Counter(labels.tolist())
  return np.array([counts[y] >= folds for y in labels.tolist()], bool)


def cross_validated(features, labels, folds=5, seed=0, groups=None):
  """{"majority", "probe/<name>", "centroid/<name>": mean and std accuracy over folds, "classes",
  "pieces", "left_out", "grouped"} for features = {name: [pieces, F]}; None if fewer than two
  classes. `groups` [pieces]: pieces of one group never straddle a fold boundary."""
  labels = np.asarray(labels)
  keep = usable(labels, folds)
  y = labels[keep]
  classes = sorted(set(y.tolist()))
  if len(classes) < 2:
    return None
  if groups is None:
    splitter = model_selection.StratifiedKFold(folds, shuffle=True, random_state=seed)
    folds_of = splitter.split(np.zeros(len(y)), y)
  else:
    splitter = model_selection.StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    folds_of = splitter.split(np.zeros(len(y)), y, np.asarray(groups)[keep])
  scores = collections.defaultdict(list)
  for train_ids, test_ids in folds_of:
    majority = collections.Counter(y[train_ids].tolist()).most_common(1)[0][0]
    scores["majority"].append(float(np.mean(y[test_ids] == majority)))
    for feature_name, x in features.items():
      x = np.asarray(x)[keep]
      for kind, make in _classifiers().items():
        model = make().fit(x[train_ids], y[train_ids])
        scores[f"{kind}/{feature_name}"].append(float(model.score(x[test_ids], y[test_ids])))
  result = {name: {"mean": float(np.mean(v)), "std": float(np.std(v))} for name, v in scores.items()}
  result.update(classes=len(classes), pieces=int(keep.sum()), left_out=int((~keep).sum()),
                grouped=groups is not None)
  return result


def pca_2d(features):
  """[pieces, 2] principal components of the features (section 3.7's 2-D map)."""
  return decomposition.PCA(n_components=2).fit_transform(np.asarray(features, np.float64))


def centroid_distances(features, labels, classes):
  """The paper's comparison of composers (section 3.7): each class's centroid of the standardised
  features, and the distance of every pair in `classes` order {"A|B": distance}; plus whether the
  middle class lies between the others (the first-last distance is the largest of the three)."""
  labels = np.asarray(labels)
  chosen = np.isin(labels, classes)
  x = preprocessing.StandardScaler().fit_transform(np.asarray(features, np.float64)[chosen])
  centroids = {c: x[labels[chosen] == c].mean(axis=0) for c in classes}
  distances = {f"{a}|{b}": float(np.linalg.norm(centroids[a] - centroids[b]))
               for i, a in enumerate(classes) for b in classes[i + 1:]}
  out = {"distances": distances, "pieces": {c: int(np.sum(labels == c)) for c in classes}}
  if len(classes) == 3:
    first, middle, last = classes
    out["middle_between"] = distances[f"{first}|{last}"] > max(distances[f"{first}|{middle}"],
                                                                 distances[f"{middle}|{last}"])
  return out
