"""`--mode=analyze`: report.json, REPORT.md, figures and listening files for a trained TCN k-WTA
(docs/tcn_wta.md, "Applications")."""

import json
import os
import time

from absl import logging
import jax
import numpy as np

from tcn_wta import analysis
from tcn_wta import codes
from tcn_wta import data
from tcn_wta import figures
from tcn_wta import generation
from tcn_wta import probes
from tcn_wta import representations


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
                     rep.display_rows)
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


def analyze(config, workdir):
  """Measures every application on the latest checkpoint in `workdir` and writes the report."""
  if jax.process_index() != 0:
    return None
  start = time.time()
  splits, channels = data.load_dataset(config.data)
  trained = analysis.Trained(config, workdir, channels)
  logging.info("Analysing %s at step %d (k = %d)", workdir, trained.step, trained.k)
  windows, batch = analysis.evaluation_windows(config, splits["test"], config.eval.max_windows)
  logging.info("[1/5] reconstruction and cleaning on %d test windows", len(windows))
  recon, corrupted = analysis.reconstruction_and_cleaning(config, trained, windows, batch)
  logging.info("[2/5] top N (%.0fs so far)", time.time() - start)
  top = analysis.top_n(config, trained, windows, batch)
  logging.info("[3/5] per-piece codes and probes (%.0fs so far)", time.time() - start)
  features, raw, labels = analysis.piece_level(config, trained, splits)
  feature_sets = {"code": features, "raw": raw}
  group_label = config.analysis.get("group_label")
  groups = labels[group_label] if group_label else None
  detection = {name: probes.cross_validated(feature_sets, labels[name], config.analysis.folds,
                                            config.analysis.seed, groups)
               for name in dict.fromkeys(list(config.analysis.probe_labels)
                                         + list(config.analysis.style_labels))}
  logging.info("[4/5] listening files and generation (%.0fs so far)", time.time() - start)
  audio_dir = os.path.join(workdir, "audio")
  os.makedirs(audio_dir, exist_ok=True)
  simplified = top["n"][len(top["n"]) // 2]
  media, synth = listening_examples(config, trained, windows, corrupted, simplified, audio_dir)
  generated = generation.run(config, trained, splits, os.path.join(workdir, "generated"), windows)
  logging.info("[5/5] figures and report (%.0fs so far)", time.time() - start)
  curve = os.path.join(workdir, "top_n.png")
  metric = representations.of(config.data).main_metric
  figures.save_top_n_curve(curve, top["n"], [q[metric] for q in top["quality"]], metric,
                           top["code_bytes_per_unit"], top["midi_bytes_per_unit"], top["unit"])
  report = {
      "step": trained.step, "k": trained.k, "test_windows": len(windows),
      "data": {**data.describe_source(config.data), "evaluated_split": "test",
               "pieces_by_split": {split: len(p) for split, p in sorted(splits.items())}},
      "reconstruction": recon["reconstruction"],
      "cleaning": {"corrupted": recon["corrupted"], "cleaned": recon["cleaned"],
                   "drop": config.analysis.corrupt_drop, "add": config.analysis.corrupt_add},
      "top_n": top, "detection": detection,
      "pieces": {"count": len(features), "code_features": features.shape[1],
                 "raw_features": raw.shape[1]},
      "generation": generated,
      "model_size": analysis.model_size(trained.params, workdir, trained.step),
      "media": {**media, "synth": synth, "top_n": curve,
                "style_maps": style_maps(config, features, raw, labels, workdir)},
      "analysis_seconds": time.time() - start,
  }
  with open(os.path.join(workdir, "report.json"), "w") as f:
    json.dump(report, f, indent=1, default=_json_default)
  with open(os.path.join(workdir, "REPORT.md"), "w") as f:
    f.write(markdown(config, report, workdir))
  logging.info("Report written to %s in %.1fs", os.path.join(workdir, "REPORT.md"),
               report["analysis_seconds"])
  return report


def _json_default(value):
  if isinstance(value, np.generic):
    return value.item()
  raise TypeError(f"Not JSON serialisable: {type(value)}")


def _rel(path, workdir):
  return os.path.relpath(path, workdir)


def _held(ok):
  return "yes" if ok else "no"


def _metrics_text(values):
  return ", ".join(f"{name} {value:.3f}" for name, value in sorted(values.items()))


def _corruption_text(config, clean):
  return representations.of(config.data).corruption_text(clean["drop"], clean["add"])


def _acc(entry, key):
  return f"{100 * entry[key]['mean']:.1f}% +- {100 * entry[key]['std']:.1f}"


def markdown(config, report, workdir):
  """REPORT.md: each claim of the paper, our number, and whether it held."""
  metric = representations.of(config.data).main_metric
  rec, clean = report["reconstruction"], report["cleaning"]
  top = report["top_n"]
  full = top["quality"][-1][metric]
  # The smallest N within 90% of the full code's quality.
  enough = next(i for i, q in enumerate(top["quality"]) if q[metric] >= 0.9 * full)
  size = report["model_size"]
  paper_kb = 750 if config.data.dataset == "groove" else 877
  lines = [
      f"# TCN k-WTA on {config.name}: report", "",
      f"Data: {report['data']['dataset']} ({report['data']['representation']}) from "
      f"{report['data']['source']}; pieces by split: "
      + ", ".join(f"{s} {n}" for s, n in report["data"]["pieces_by_split"].items())
      + "; every window below is from the test split.", "",
      f"Step {report['step']}, k = {report['k']}; {report['test_windows']} held-out test windows "
      f"of {config.data.window} steps; {report['pieces']['count']} pieces for the piece-level "
      "rows. Probe and centroid accuracies are "
      f"{config.analysis.folds}-fold stratified cross-validation over pieces (mean +- std)"
      + (f", grouped by {config.analysis.group_label} (no piece in both training and test folds)"
         if config.analysis.get("group_label") else "") + ".", "",
      "## The paper's claims and our measurements", "",
      "| claim (paper section) | ours | held |", "| --- | --- | --- |",
      f"| the sparse code reconstructs music (3.3) | held-out {_metrics_text(rec)} | "
      f"{_held(rec[metric] > 0.5)} |",
      f"| cleaning of musical sections (3) | {metric}: corrupted input "
      f"{clean['corrupted'][metric]:.3f} -> cleaned {clean['cleaned'][metric]:.3f} "
      f"({_corruption_text(config, clean)}) | "
      f"{_held(clean['cleaned'][metric] > clean['corrupted'][metric])} |",
      f"| keeping the top N features simplifies and compresses (3.4) | N = {top['n'][enough]} of "
      f"{top['n'][-1]} reaches {metric} {top['quality'][enough][metric]:.3f} (all N: "
      f"{full:.3f}) in "
      f"{top['code_bytes_per_unit'][enough]:.1f} bytes per {top['unit']} vs "
      f"{top['midi_bytes_per_unit']:.1f} for the MIDI file | "
      f"{_held(top['code_bytes_per_unit'][enough] < top['midi_bytes_per_unit'])} |",
  ]
  gen = report["generation"]
  if "drums" in gen:
    d = gen["drums"]
    lines.append(
        f"| structured drums from stitched beats (3.5) | {d['structure']}, {d['bars']} bars at "
        f"{d['qpm']:g} bpm: {d['hits']} hits ({d['hits_per_bar']:.1f} per bar), on the grid: "
        f"{_held(d['hits_on_grid'])}, repeated sections equal: "
        f"{_held(d['repeated_sections_equal'])}, distinct sections differ: "
        f"{_held(d['distinct_sections_differ'])} | "
        f"{_held(d['hits_on_grid'] and d['repeated_sections_equal'] and d['hits'] > 0)} |")
  else:
    p = gen["piano"]
    lines.append(
        f"| piano generation from codes (3.6) | {p['notes']} notes in {p['seconds']:.1f} s "
        f"({p['notes_per_second']:.1f}/s; held-out windows {p['held_out_notes_per_second']:.1f}/s)"
        f", pitches {p['pitch_range']} | {_held(p['notes'] > 0)} |")
  for name in config.analysis.style_labels:
    d = report["detection"].get(name)
    if d:
      lines.append(
          f"| composers/players use different patterns: style map (3.7) | by {name}: "
          f"nearest centroid on the mean code {_acc(d, 'centroid/code')} vs raw "
          f"{_acc(d, 'centroid/raw')} vs majority {_acc(d, 'majority')} | "
          f"{_held(d['centroid/code']['mean'] > d['majority']['mean'])} |")
  for name, d in report["detection"].items():
    if d is None:
      lines.append(f"| {name} detection (abstract) | fewer than two classes with "
                   f"{config.analysis.folds} pieces | n/a |")
      continue
    lines.append(
        f"| {name} detection (abstract) | linear probe on the mean code {_acc(d, 'probe/code')} "
        f"vs raw {_acc(d, 'probe/raw')} vs majority {_acc(d, 'majority')} ({d['classes']} "
        f"classes, {d['pieces']} pieces) | "
        f"{_held(d['probe/code']['mean'] > d['majority']['mean'] + d['probe/code']['std'])} |")
  lines.append(
      f"| small model: {paper_kb} KB here, Performance RNN 25 MB (4) | {size['parameters']:,} "
      f"parameters = {size['parameter_bytes'] / 1e3:.0f} KB as float32; checkpoint with Adam "
      f"state {size['checkpoint_bytes'] / 1e3:.0f} KB | "
      f"{_held(size['parameter_bytes'] < 25e6)} |")
  lines += ["", "## Keep top N", "",
            f"| N | {metric} | code bytes per {top['unit']} |", "| --- | --- | --- |"]
  for n, q, b in zip(top["n"], top["quality"], top["code_bytes_per_unit"]):
    lines.append(f"| {n} | {q[metric]:.3f} | {b:.1f} |")
  lines += ["", f"Each entry: step, atom and a float16 value, {top['entry_bits']} bits. The MIDI "
            f"file of the same windows: {top['midi_bytes_per_unit']:.1f} bytes per {top['unit']}.",
            "", "## Detection", "",
            "| label | classes | pieces | majority | probe: code | probe: raw | centroid: code "
            "| centroid: raw |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  for name, d in report["detection"].items():
    if d:
      lines.append(f"| {name} | {d['classes']} | {d['pieces']} | {_acc(d, 'majority')} | "
                   f"{_acc(d, 'probe/code')} | {_acc(d, 'probe/raw')} | "
                   f"{_acc(d, 'centroid/code')} | {_acc(d, 'centroid/raw')} |")
  media = report["media"]
  lines += ["", "Raw features are the mean input patch (P steps x channels), the same average as "
            "the mean code taken on the input.", "", "## Figures", "",
            f"![reconstruction]({_rel(media['figure'], workdir)})", "",
            f"![top N]({_rel(media['top_n'], workdir)})", ""]
  lines += [f"![style map by {name}]({_rel(path, workdir)})\n"
            for name, path in media["style_maps"].items()]
  lines += [f"## Listening ({media['synth']} synthesis; MIDI beside each WAV)", ""]
  for name, path in media.items():
    if isinstance(path, str) and path.endswith(".mid"):
      rel = _rel(path, workdir)
      lines.append(f"- {name}: [midi]({rel}), [wav]({rel[:-4]}.wav)")
  for kind, g in gen.items():
    rel = _rel(g["midi"], workdir)
    lines.append(f"- generated {kind}: [midi]({rel}), [wav]({rel[:-4]}.wav), "
                 f"[figure]({rel[:-4]}.png)")
  lines += ["", f"Analysis took {report['analysis_seconds']:.0f}s.", ""]
  return "\n".join(lines)
