"""`--mode=analyze`: report.json, REPORT.md, figures and listening files for a trained TCN k-WTA
(docs/tcn_wta.md, "Applications")."""

import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.files import metric_writing
from music_runtime.files import report_staging
from music_runtime.files import workdir_utils
from music_runtime.training import batching
from music_runtime.training import checkpointing
from tcn_wta.applications import ablations
from tcn_wta.applications import analysis
from tcn_wta.applications import cleaning
from tcn_wta.applications import codes
from tcn_wta.applications import generation
from tcn_wta.applications import probes
from tcn_wta.datasets import data
from tcn_wta.datasets import representations
from tcn_wta.reporting import figures
from tcn_wta.reporting import report_text
from tcn_wta.training import config_checks


def listening_examples(config, trained, windows, corrupted, top_n_entries, out_dir):
  """The busiest held-out window: original, reconstruction, corrupted, cleaned and simplified,
  as MIDI, WAV and one figure; returns {name: midi path} and the synthesiser."""
  rep = representations.of(config.data)
  busiest = int(np.argmax([np.sum(rep.display(w, config.data) > 0)
                           for w in windows[:64]]))
  encode = codes.make_encoder(trained.net, trained.params, rep, trained.k)
  decode = codes.make_decoder(trained.net, trained.params)
  clips = {"original": windows[busiest], "corrupted": corrupted[busiest]}
  _, code = encode(windows[busiest:busiest + 1])
  clips["reconstruction"] = np.asarray(decode(code))[0]
  clips["cleaned"] = np.asarray(decode(encode(corrupted[busiest:busiest + 1])[1]))[0]
  clips[f"top{top_n_entries}"] = np.asarray(decode(codes.keep_top_n(code, top_n_entries)))[0]
  media, synth = {}, None
  for name, array in clips.items():
    stem = os.path.join(out_dir, name)
    synth = generation.write_music(rep.to_sequence(array, config.data), stem)
    media[name] = stem + ".mid"
  figure = os.path.join(os.path.dirname(out_dir), "reconstruction.png")
  figures.save_rolls(figure, [(name, rep.display(a, config.data))
                              for name, a in clips.items()],
                     f"Held-out {config.name} window (k = {trained.k})",
                     rep.display_rows, representations.display_time_label(config.data))
  media["figure"] = figure
  return media, synth


def style_maps(config, features, raw, labels, workdir):
  paths = {}
  maps = {"mean sparse code": probes.pca_2d(features), "mean input patch": probes.pca_2d(raw)}
  for name in config.analysis.style_labels:
    path = os.path.join(workdir, f"style_map_{name}.png")
    figures.save_style_map(path, maps, labels[name], f"PCA of per-piece means, by {name}")
    paths[name] = path
  return paths


# The paper's numbers the report compares with (docs/tcn_wta.md, "Addendum").
PAPER = {"model_bytes_maestro": 877e3, "authors_maestro_parameters": 107425,
         "authors_maestro_bytes": 872785, "performance_rnn_bytes": 25e6}


def compare_classes(config, feature_sets, labels, groups, order, workdir):
  """Section 3.7's comparison of a few classes (MAESTRO: Haydn, Beethoven, Chopin): centroid
  distances in the given order, their own style map and a detection among them only."""
  name = config.analysis.style_labels[0]
  chosen = np.isin(labels[name], order)
  subsets = {kind: np.asarray(x)[chosen] for kind, x in feature_sets.items()}
  path = os.path.join(workdir, f"style_map_{len(order)}_{name}.png")
  figures.save_style_map(path, {f"mean {'sparse code' if kind == 'code' else 'input patch'}":
                                probes.pca_2d(x) for kind, x in subsets.items()},
                         labels[name][chosen], f"PCA of per-piece means: {', '.join(order)}")
  return {"label": name, "classes": order, "figure": path,
          **{kind: probes.centroid_distances(x, labels[name], order)
             for kind, x in feature_sets.items()},
          "detection": probes.cross_validated(
              subsets, labels[name][chosen], config.analysis.folds, config.analysis.seed,
              None if groups is None else np.asarray(groups)[chosen])}


def atom_usage(config, trained, windows, batch):
  """How often each atom is active on the test windows: {"used": atoms ever active,
  "most_used": atom ids by usage, "share": their share of all active entries}."""
  encode = codes.make_encoder(trained.net, trained.params, representations.of(config.data),
                              trained.k)
  counts = batching.map_in_batches(lambda w: jnp.sum(encode(w)[1] != 0, axis=1), (windows,),
                                   batch).sum(axis=0)
  order = np.argsort(-counts, kind="stable")
  return {"used": int(np.sum(counts > 0)), "most_used": order.tolist(),
          "share": (counts[order] / max(counts.sum(), 1)).tolist()}


def cells_cleaning(config, trained, splits, windows, batch):
  """`cleaning.measure` on `windows`, with editing thresholds chosen on validation windows
  (training windows if there are none)."""
  validation, _ = analysis.evaluation_windows(
      config, splits.get("validation") or splits["train"], config.analysis.max_windows)
  return cleaning.measure(config, trained, windows, validation, batch)


def training_curve_figure(config, workdir, out_dir):
  """(the run's logged scalars in `workdir`, training_curve.png in `out_dir`: the loss as k
  decays, or None)."""
  scalars = metric_writing.read_scalars(workdir)
  if not scalars.get("train/loss"):
    return scalars, None
  path = os.path.join(out_dir, "training_curve.png")
  figures.save_training_curve(path, scalars["train/loss"], scalars.get("k"),
                              f"{config.name}: training loss as k decays")
  return scalars, path


def atoms_figure_of(config, trained, windows, batch, workdir, shown=32):
  """(atom usage on the test windows, atoms.png: the `shown` most used atoms)."""
  atoms = atom_usage(config, trained, windows, batch)
  path = os.path.join(workdir, "atoms.png")
  rep = representations.of(config.data)
  figures.save_atoms(path, np.asarray(trained.params["dictionary"])[atoms["most_used"][:shown]],
                     atoms["share"][:shown], "event" if rep.token_ids else rep.display_rows)
  return atoms, path


def analyze(config, workdir):
  """Measures every application on the latest checkpoint in `workdir` and writes the report."""
  if jax.process_index() != 0:
    return None
  start = time.time()
  config_checks.validate(config)
  checkpointing.require_checkpoint(workdir)  # before minutes of data conversion
  splits, channels = data.load_dataset(config.data)
  source = data.data_source(config.data, splits)
  config_checks.check_resume(config, workdir, source.record(), evaluating=True)
  trained = analysis.Trained(config, workdir, channels)
  logging.info("Analysing %s at step %d (k = %d)", workdir, trained.step, trained.k)
  windows, batch = analysis.evaluation_windows(config, splits["test"], config.eval.max_windows)
  logging.info("[1/5] reconstruction and cleaning on %d test windows", len(windows))
  recon, corrupted = analysis.reconstruction_and_cleaning(config, trained, windows, batch)
  subset = analysis.evenly_spaced(windows, batch, config.analysis.max_windows)
  cleaned = cells_cleaning(config, trained, splits, subset, batch)
  logging.info("[2/5] top N on %d windows (%.0fs so far)", len(subset), time.time() - start)
  top = analysis.top_n(config, trained, subset, batch)
  logging.info("[3/5] per-piece codes and probes (%.0fs so far)", time.time() - start)
  features, raw, labels = analysis.piece_level(config, trained, splits)
  feature_sets = {"code": features, "raw": raw}
  group_label = config.analysis.get("group_label")
  groups = labels[group_label] if group_label else None
  detection = {name: probes.cross_validated(feature_sets, labels[name], config.analysis.folds,
                                            config.analysis.seed, groups)
               for name in dict.fromkeys(list(config.analysis.probe_labels)
                                         + list(config.analysis.style_labels))}
  with report_staging.staged(workdir) as stage:
    order = list(config.analysis.get("style_order", ()))
    style_order = None
    if order and config.analysis.style_labels:
      style_order = compare_classes(config, feature_sets, labels, groups, order, stage.folder)
    logging.info("[4/5] listening files and generation (%.0fs so far)", time.time() - start)
    audio_dir = os.path.join(stage.folder, "audio")
    os.makedirs(audio_dir, exist_ok=True)
    simplified = top["n"][len(top["n"]) // 2]
    media, synth = listening_examples(config, trained, windows, corrupted, simplified, audio_dir)
    generated = generation.run(config, trained, splits, os.path.join(stage.folder, "generated"),
                               windows)
    logging.info("[5/5] figures and report (%.0fs so far)", time.time() - start)
    curve = os.path.join(stage.folder, "top_n.png")
    figures.save_top_n_curve(curve, top, representations.of(config.data).main_metric)
    scalars, training_curve = training_curve_figure(config, workdir, stage.folder)
    atoms, atoms_figure = atoms_figure_of(config, trained, windows, batch, stage.folder)
    report = {
        "step": trained.step, "k": trained.k, "test_windows": len(windows),
        "paper": PAPER,
        "data": {**data.describe_source(config.data), "evaluated_split": "test",
                 "pieces_by_split": {split: len(p) for split, p in sorted(splits.items())}},
        "reconstruction": recon["reconstruction"],
        "cleaning": {"corrupted": recon["corrupted"], "cleaned": recon["cleaned"],
                     "drop": config.analysis.corrupt_drop, "add": config.analysis.corrupt_add,
                     "cells": cleaned},
        "atoms": {"used": atoms["used"], "of": trained.net.num_atoms,
                  "most_used": atoms["most_used"][:32], "share": atoms["share"][:32]},
        "training": {"train_loss": scalars.get("train/loss"), "k": scalars.get("k"),
                     "denoising": dict(config.train.corruption)},
        "ablations": ablations.load(workdir),
        "top_n": top, "detection": detection, "style_order": style_order,
        "pieces": {"count": len(features), "code_features": features.shape[1],
                   "raw_features": raw.shape[1]},
        "generation": generated,
        "model_size": {**analysis.model_size(trained.params, workdir, trained.step),
                       "authors_variant": analysis.authors_variant_size(config)},
        "media": {**media, "synth": synth, "top_n": curve, "training_curve": training_curve,
                  "atoms": atoms_figure,
                  "style_maps": style_maps(config, features, raw, labels, stage.folder)},
        "data_provenance": source.record(),
        "analysis_seconds": time.time() - start,
    }
    # Paths in the report name where the files will lie, once the set is moved into place.
    report = stage.final(report)
    workdir_utils.write_report(stage.folder, report, report_text.markdown(config, report, workdir),
                               default=_json_default)
  logging.info("Report written to %s in %.1fs", os.path.join(workdir, "REPORT.md"),
               report["analysis_seconds"])
  return report


def _json_default(value):
  if isinstance(value, np.generic):
    return value.item()
  raise TypeError(f"Not JSON serialisable: {type(value)}")
