"""`--mode=ablate`: models trained beside the main one, each in workdir/ablations/<name>/
(docs/tcn_wta.md, "Ablations").

- The sparsity-fidelity trade-off: at every final k of `config.ablation.ks`, a plain model and a
  denoising one (beyond the paper: trained on windows with `ablation.corrupt_drop` of their notes
  removed and `ablation.corrupt_add` added, against the clean window); each is scored on clean
  held-out windows and on windows with that noise (output quality, spurious notes silenced),
  beside the corrupted input itself and the bar-repetition filter.
- The beat-alignment prior (the paper's section 3.5): at every k of `config.ablation.phase_ks`,
  windows that start at any step (so patches straddle beats) vs on the beat.
Each run resumes like any training run; ablations.json and ablations.png hold the results, and
`--mode=analyze` puts them in REPORT.md.
"""

import os
import time

from absl import logging
import ml_collections

from music_runtime.files import atomic
from music_runtime.files import metric_writing
from music_runtime.files import workdir_utils
from tcn_wta.applications import analysis
from tcn_wta.applications import cleaning
from tcn_wta.datasets import data
from tcn_wta.datasets import representations
from tcn_wta.reporting import figures
from tcn_wta.training import train

RESULTS = "ablations.json"


def decay_every_reaching(config, k, by=0.75):
  """The config's decay_every, shortened if needed so that the schedule reaches k within the
  first `by` of training (the config's schedule is made for its own k_end)."""
  schedule = config.model.k
  decays = -(-max(schedule.k_start - k, 0) // schedule.k_decrement)
  if not decays or decays * schedule.decay_every <= by * config.num_train_steps:
    return schedule.decay_every
  return max(1, int(by * config.num_train_steps) // decays)


def variants(config):
  """[(name, {dotted key: value})] of the runs `--mode=ablate` trains."""
  a = config.ablation
  out = []

  def at_k(k):
    return {"model.k.k_end": k, "model.k.k_start": max(config.model.k.k_start, k),
            "model.k.decay_every": decay_every_reaching(config, k)}

  for k in a.ks:
    out.append((f"k{k}", at_k(k)))
    out.append((f"k{k}_denoising", {**at_k(k), "train.corruption.drop": a.corrupt_drop,
                                    "train.corruption.add": a.corrupt_add}))
  for k in a.phase_ks:
    out.append((f"k{k}_any_phase", {**at_k(k), "data.phase": "any"}))
  return out


def variant_config(config, name, overrides):
  """An unlocked copy of `config` with the overrides applied and its own name."""
  out = ml_collections.ConfigDict(config.to_dict())
  for key, value in overrides.items():
    *path, last = key.split(".")
    section = out
    for part in path:
      section = section[part]
    section[last] = value
  out.name = f"{config.name}_{name}"
  return out


def noisy_scores(config, trained, windows, batch, drop, add):
  """Quality on clean windows and on windows with the given noise; for grids, pooled over cells
  like the cleaning table, with the spurious notes silenced and the bar-repetition filter."""
  rep = representations.of(config.data)
  if not cleaning.supported(rep):
    scores = analysis.reconstruction_and_cleaning(config, trained, windows, batch, drop, add)[0]
    return {name: scores[group][rep.main_metric] for name, group in
            (("clean", "reconstruction"), ("noisy output", "cleaned"),
             ("noisy input", "corrupted"))}
  corrupted = representations.corrupt(windows, rep, config.analysis.seed, drop, add,
                                      channels=trained.net.channels)
  score = cleaning.make_scorer(trained, rep, batch)
  clean = cleaning.played_cells(rep, windows)
  rows = cleaning.condition_scores(cleaning.played_cells(rep, corrupted), score(corrupted), clean,
                                   cleaning.steps_per_bar_of(config), (0.0, 1.01))
  out = {"clean": cleaning.pooled_f1(score(windows) > 0.5, clean),
         "noisy output": rows["model output"], "noisy input": rows["corrupted input"],
         "added silenced": rows["added silenced"],
         "auroc true vs added": rows["auroc true vs added"]}
  if "bar-repetition filter" in rows:
    out["bar-repetition filter"] = rows["bar-repetition filter"]
  return out


def final_training_loss(workdir):
  """The last logged training loss of a run, or None."""
  losses = metric_writing.read_scalars(workdir).get("train/loss")
  return losses[-1][1] if losses else None


def run(config, workdir, heartbeat=lambda what: None):
  """Trains (or resumes) every variant and writes ablations.json and ablations.png."""
  start = time.time()
  splits, channels = data.load_dataset(config.data)
  a = config.ablation
  results = {"noise": {"drop": a.corrupt_drop, "add": a.corrupt_add}, "runs": {}}
  todo = variants(config)
  for i, (name, overrides) in enumerate(todo):
    logging.info("[%d/%d] ablation %s (%.0fs so far)", i + 1, len(todo), name, time.time() - start)
    sub_config = variant_config(config, name, overrides)
    sub_workdir = os.path.join(workdir, "ablations", name)
    train.train_and_evaluate(sub_config, sub_workdir, heartbeat=heartbeat)
    trained = analysis.Trained(sub_config, sub_workdir, channels)
    if trained.k != sub_config.model.k.k_end:
      raise ValueError(f"Ablation {name}: training ended at k = {trained.k}, not "
                       f"{sub_config.model.k.k_end}; raise num_train_steps")
    windows, batch = analysis.evaluation_windows(sub_config, splits["test"],
                                                 sub_config.eval.max_windows)
    results["runs"][name] = {
        "overrides": overrides, "k": trained.k, "workdir": sub_workdir,
        "final_training_loss": final_training_loss(sub_workdir),
        **noisy_scores(sub_config, trained, windows, batch, a.corrupt_drop, a.corrupt_add)}
  results["metric"] = representations.of(config.data).main_metric
  results["seconds"] = time.time() - start
  results["figure"] = os.path.join(workdir, "ablations.png")
  figures.save_ablations(results["figure"], results, list(a.ks))
  atomic.write_json(os.path.join(workdir, RESULTS), results, indent=1)
  logging.info("Ablations written to %s in %.0fs", os.path.join(workdir, RESULTS),
               results["seconds"])
  return results


def load(workdir):
  """The ablations.json of `workdir`, or None if `--mode=ablate` has not run."""
  path = os.path.join(workdir, RESULTS)
  if not os.path.exists(path):
    return None
  return workdir_utils.read_json(path, "ablation record")
