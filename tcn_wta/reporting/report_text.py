"""REPORT.md of `--mode=analyze`: the claims table (`claims`), then the cleaning, ablation, top N,
generator and detection tables and the listening files, rendered from report.json
(docs/tcn_wta.md, "Applications")."""

import os

from music_runtime.files import claims as claim_tables
from music_runtime.files import report_format as fmt
from tcn_wta.datasets import representations
from tcn_wta.reporting import claims as tcn_claims


def _rel(path, workdir):
  return os.path.relpath(path, workdir)


def header(config, report):
  return [
      f"# TCN k-WTA on {config.name}: report", "",
      f"Data: {report['data']['dataset']} ({report['data']['representation']}) from "
      f"{report['data']['source']} (arrays' sha256 "
      f"{report.get('data_provenance', {}).get('sha256', '?')[:12]}); pieces by split: "
      + ", ".join(f"{s} {n}" for s, n in report["data"]["pieces_by_split"].items())
      + "; every window below is from the test split.", "",
      f"Step {report['step']}, k = {report['k']}; {report['test_windows']} held-out test windows "
      f"of {config.data.window} steps; {report['pieces']['count']} pieces for the piece-level "
      "rows. Probe and centroid accuracies are "
      f"{config.analysis.folds}-fold stratified cross-validation over pieces (mean +- std)"
      + (f", grouped by {config.analysis.group_label} (no piece in both training and test folds)"
         if config.analysis.get("group_label") else "") + "."
      + (" **Beyond the paper**: this model was trained as a denoising autoencoder ("
         f"{fmt.pct(report['training']['denoising']['drop'])} of the notes removed, "
         f"{fmt.pct(report['training']['denoising']['add'])} added, clean target)."
         if any(report["training"]["denoising"].values()) else ""), ""]


def token_cleaning_table(cells):
  lines = ["", "## Cleaning on tokens", "",
           f"Accuracy over {cells['test_windows']} test windows. Editing replaces every input "
           "token the model supports less than `low` (chosen on "
           f"{cells['validation_windows']} validation windows) by the model's own token.", ""]
  return lines + claim_tables.table(
      ("noise", "corrupted input", "model output", "model-guided edit (low)",
       "AUROC true vs replaced", "replaced tokens restored"),
      [(name, f"{row['corrupted input']:.3f}", f"{row['model output']:.3f}",
        f"{row['model-guided edit']:.3f} ({row['thresholds']['low']:.3g})",
        fmt.num(row["auroc true vs replaced"]), fmt.pct(row["replaced restored"]))
       for name, row in cells["conditions"].items()])


def cleaning_table(report):
  cells = report["cleaning"].get("cells")
  if not cells:
    return []
  if cells.get("tokens"):
    return token_cleaning_table(cells)
  lines = ["", "## Cleaning on cells", "",
           f"F1 pooled over the cells of {cells['test_windows']} test windows. Editing deletes "
           "the input's notes the model scores below `low` and adds silent cells it scores "
           "above `high` (chosen on "
           f"{cells['validation_windows']} validation windows; low 0 deletes nothing, high > 1 "
           "adds nothing). The bar-repetition filter keeps an input note when the same cell is "
           f"played in >= {cells['min_bars']} of the window's bars.", ""]
  lines += claim_tables.table(
      ("noise", "corrupted input", "model output", "model-guided edit (low, high)",
       "bar-repetition filter", "AUROC true vs added", "AUROC removed vs silent",
       "added silenced", "removed restored"),
      [(name, f"{row['corrupted input']:.3f}", f"{row['model output']:.3f}",
        f"{row['model-guided edit']:.3f} ({row['thresholds']['low']:g}, "
        f"{row['thresholds']['high']:g})", fmt.num(row.get("bar-repetition filter")),
        fmt.num(row["auroc true vs added"]), fmt.num(row["auroc removed vs silent"]),
        fmt.pct(row["added silenced"]), fmt.pct(row["removed restored"]))
       for name, row in cells["conditions"].items()])
  c = cells["clean"]
  lines += ["", f"On clean windows the output plays {fmt.pct(c['recall'])} of the notes"
            + (f"; {fmt.pct(c['recall recurring'])} of those recurring in >= {cells['min_bars']} "
               f"bars ({fmt.pct(c['recurring share'])} of all notes) and "
               f"{fmt.pct(c['recall one-off'])} "
               "of one-off notes" if "recall recurring" in c else "")
            + (f"; {fmt.pct(c['recall loud'])} of notes at least as loud as the median velocity "
               f"({c['median velocity']:.2f}) and {fmt.pct(c['recall soft'])} of the others"
               if "recall loud" in c else "") + "."]
  return lines


def ablation_table(report, metric, workdir):
  results = report.get("ablations")
  if not results:
    return ["", "## Ablations", "", "Not run: `--mode=ablate` trains the k sweep, denoising and "
            "beat-alignment models and puts them here."]
  noise = results["noise"]
  lines = ["", "## Ablations (`--mode=ablate`)", "",
           f"Each model trained like this one but for the row's change; noisy = "
           f"{fmt.pct(noise['drop'])} of the notes removed and {fmt.pct(noise['add'])} added. "
           f"{results['seconds']:.0f} s for all runs.", ""]
  lines += claim_tables.table(
      ("run", "k", f"{metric}: clean input", "noisy input itself", "model on noisy input",
       "bar-repetition filter", "spurious notes silenced", "AUROC true vs added",
       "final training loss"),
      [(name, str(r["k"]), f"{r['clean']:.3f}", f"{r['noisy input']:.3f}",
        f"{r['noisy output']:.3f}", fmt.num(r.get("bar-repetition filter")),
        fmt.pct(r.get("added silenced")), fmt.num(r.get("auroc true vs added")),
        fmt.num(r["final_training_loss"], 4)) for name, r in results["runs"].items()])
  lines += ["", f"![ablations]({_rel(results['figure'], workdir)})"]
  return lines


def generator_table(report):
  comparison = report["generation"].get("generators")
  if not comparison:
    return []
  lines = ["", "## Generators", "",
           f"{comparison['windows']} windows each, from the same training windows; a bar (of "
           f"{comparison['steps_per_bar']} steps) is new when its cells match every bar of the "
           "training windows with F1 < 0.9.", ""]
  return lines + claim_tables.table(
      ("generator", "bars new", "mean F1 with the nearest training bar", "notes per bar",
       "held-out notes per bar", "distance of the notes' distribution over rows"),
      [(name, fmt.pct(r["novelty"]), fmt.num(r["nearest_training_bar_f1"]),
        f"{r['notes_per_bar']:.1f}",
        f"{r['held_out_notes_per_bar']:.1f}", f"{r['row_share_distance']:.3f}")
       for name, r in comparison["generators"].items()])


def top_n_table(report, metric):
  top = report["top_n"]
  atoms = top["atoms"]
  lines = ["", "## Keep top N", "",
           f"On {top['windows']} test windows. Entries: the N largest entries of the window's "
           "code; atoms: the paper's top N, the "
           f"N atoms most used in the window with all their entries. Each entry is a step, an "
           f"atom and a float16 value, {top['entry_bits']} bits.", "",
           f"| N | {metric}, N entries | bytes per {top['unit']} | {metric}, N atoms | entries "
           f"kept | bytes per {top['unit']} |", "| --- " * 6 + "|"]
  for n in sorted(set(top["n"]) | set(atoms["n"])):
    e = top["n"].index(n) if n in top["n"] else None
    a = atoms["n"].index(n) if n in atoms["n"] else None
    lines.append(
        f"| {n} | " + (f"{top['quality'][e][metric]:.3f} | {top['code_bytes_per_unit'][e]:.1f}"
                       if e is not None else "- | -")
        + " | " + (f"{atoms['quality'][a][metric]:.3f} | {atoms['entries_per_window'][a]:.1f} | "
                   f"{atoms['code_bytes_per_unit'][a]:.1f}" if a is not None else "- | - | -")
        + " |")
  lines += ["", f"Lossless ({top['lossless']}): {top['lossless_bytes_per_unit']:.1f} bytes per "
            f"{top['unit']}; the MIDI file of the same windows: {top['midi_bytes_per_unit']:.1f}."]
  if "grid_baseline" in top:
    lines += ["", "Lossy grid baseline (only the m most played rows): "
              + ", ".join(f"m = {p['rows']}: F1 {p['f1']:.3f} in {p['bytes_per_unit']:.1f} B"
                          for p in top["grid_baseline"]) + "."]
  return lines


def detection_table(report):
  lines = ["", "## Detection", "",
           "| label | classes | pieces | majority | probe: code | probe: raw | centroid: code "
           "| centroid: raw |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  for name, d in report["detection"].items():
    if d:
      lines.append(f"| {name} | {d['classes']} | {d['pieces']} | {tcn_claims.mean_and_std(d, 'majority')} | "
                   f"{tcn_claims.mean_and_std(d, 'probe/code')} | {tcn_claims.mean_and_std(d, 'probe/raw')} | "
                   f"{tcn_claims.mean_and_std(d, 'centroid/code')} | {tcn_claims.mean_and_std(d, 'centroid/raw')} |")
  lines += ["", "Raw features are the mean input patch (P steps x channels), the same average as "
            "the mean code taken on the input."]
  return lines


def media_lines(report, workdir):
  media = report["media"]
  lines = ["", "## Figures", "", f"![reconstruction]({_rel(media['figure'], workdir)})", "",
           f"![top N]({_rel(media['top_n'], workdir)})", "",
           f"![atoms]({_rel(media['atoms'], workdir)}) ({report['atoms']['used']} of "
           f"{report['atoms']['of']} atoms active on the test windows)", ""]
  if media.get("training_curve"):
    lines += [f"![training curve]({_rel(media['training_curve'], workdir)})", ""]
  lines += [f"![style map by {name}]({_rel(path, workdir)})\n"
            for name, path in media["style_maps"].items()]
  if report.get("style_order"):
    lines += [f"![style map of {', '.join(report['style_order']['classes'])}]"
              f"({_rel(report['style_order']['figure'], workdir)})\n"]
  lines += [f"## Listening ({media['synth']} synthesis; MIDI beside each WAV)", ""]
  for name, path in media.items():
    if isinstance(path, str) and path.endswith(".mid"):
      rel = _rel(path, workdir)
      lines.append(f"- {name}: [midi]({rel}), [wav]({rel[:-4]}.wav)")
  for kind, g in report["generation"].items():
    if kind == "generators":
      for name, row in g["generators"].items():
        if "midi" in row:
          rel = _rel(row["midi"], workdir)
          lines.append(f"- generator {name}: [midi]({rel}), [wav]({rel[:-4]}.wav)")
      continue
    rel = _rel(g["midi"], workdir)
    lines.append(f"- generated {kind}: [midi]({rel}), [wav]({rel[:-4]}.wav), "
                 f"[figure]({rel[:-4]}.png)")
  return lines


def markdown(config, report, workdir):
  """REPORT.md: each claim of the paper, our number, and whether it held, then the tables."""
  metric = representations.of(config.data).main_metric
  claims = (tcn_claims.reconstruction_claim(report, metric)
            + tcn_claims.cleaning_claims(config, report, metric)
            + tcn_claims.top_n_claims(report, metric) + tcn_claims.generation_claims(report)
            + tcn_claims.generator_claims(report) + tcn_claims.detection_claims(config, report)
            + tcn_claims.style_order_claim(report) + tcn_claims.size_claim(report)
            + tcn_claims.ablation_claims(report, metric))
  lines = header(config, report) + ["## The paper's claims and our measurements", ""]
  lines += claim_tables.claims_table(claims)
  lines += cleaning_table(report)
  lines += ablation_table(report, metric, workdir)
  lines += top_n_table(report, metric)
  lines += generator_table(report)
  lines += detection_table(report)
  lines += media_lines(report, workdir)
  lines += ["", f"Analysis took {report['analysis_seconds']:.0f}s.", ""]
  return "\n".join(lines)
