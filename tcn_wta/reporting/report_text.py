"""REPORT.md of `--mode=analyze`: each claim of the paper, our number, the baseline, held or not
(docs/tcn_wta.md, "Applications")."""

import os

from music_runtime.files import report_format as fmt
from tcn_wta.applications import compression
from tcn_wta.datasets import representations


def _rel(path, workdir):
  return os.path.relpath(path, workdir)


def _metrics_text(values):
  return ", ".join(f"{name} {value:.3f}" for name, value in sorted(values.items()))


def _acc(entry, key):
  return f"{100 * entry[key]['mean']:.1f}% +- {100 * entry[key]['std']:.1f}"


def _enough(quality, metric, fraction=0.9):
  """The first index whose quality is within `fraction` of the last (the full code's)."""
  return next(i for i, q in enumerate(quality) if q[metric] >= fraction * quality[-1][metric])


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


def _table(columns, rows):
  """Markdown lines of a table: the header, its rule, then one line per row of cells."""
  return (["| " + " | ".join(columns) + " |", "| --- " * len(columns) + "|"]
          + ["| " + " | ".join(row) + " |" for row in rows])


def _row(claim, ours, baseline, held):
  """One claim: the paper's claim (section), our measurement, the baseline it must beat, held."""
  return f"| {claim} | {ours} | {baseline} | {held} |"


def cleaning_claims(config, report, metric):
  """Claim rows on cleaning: on cells when the representation has them, else the one verdict."""
  clean = report["cleaning"]
  cells = clean.get("cells")
  if not cells:
    text = representations.of(config.data).corruption_text(clean["drop"], clean["add"])
    return [_row("cleaning of musical sections (3)",
                 f"{metric} of the model's output {clean['cleaned'][metric]:.3f} ({text})",
                 f"the corrupted input {clean['corrupted'][metric]:.3f}",
                 fmt.held(clean["cleaned"][metric] > clean["corrupted"][metric]))]
  if cells.get("tokens"):
    r = cells["conditions"]["replaced 20%"]
    return [
        _row("cleaning (3): the output supports true tokens more than replaced ones",
             f"AUROC {fmt.num(r['auroc true vs replaced'])} with 20% of the tokens replaced",
             "chance 0.5; target >= 0.8", fmt.held((r["auroc true vs replaced"] or 0) >= 0.8)),
        _row("cleaning (3): editing the input with the model repairs it",
             f"accuracy with 20% of the tokens replaced: edited {r['model-guided edit']:.3f}",
             f"the corrupted input {r['corrupted input']:.3f}; the model's output "
             f"{r['model output']:.3f}",
             fmt.held(r["model-guided edit"] > r["corrupted input"]))]
  c, conditions = cells["clean"], cells["conditions"]
  both, added = conditions["both 20%"], conditions["added 20%"]
  rows = []
  if "recall recurring" in c:
    rows.append(_row(
        "cleaning (3): the dictionary keeps what recurs, drops what does not",
        f"recall of clean notes recurring in >= {cells['min_bars']} of the window's bars "
        f"{fmt.pct(c['recall recurring'])}; loud notes {fmt.pct(c['recall loud'])}",
        f"one-off notes {fmt.pct(c['recall one-off'])}; soft notes {fmt.pct(c['recall soft'])}",
        fmt.held((c["recall recurring"] or 0) > (c["recall one-off"] or 0))))
  rows.append(_row(
      "cleaning (3): the output scores added notes lower than true ones",
      f"AUROC {fmt.num(both['auroc true vs added'])} at 20% removed + 20% added (removed vs silent "
      f"cells {fmt.num(both['auroc removed vs silent'])})", "chance 0.5; target >= 0.8",
      fmt.held((both["auroc true vs added"] or 0) >= 0.8)))
  baseline = f"the corrupted input {added['corrupted input']:.3f}" + (
      f"; bar-repetition filter {added['bar-repetition filter']:.3f}"
      if "bar-repetition filter" in added else "")
  rows.append(_row(
      "cleaning (3): editing the input with the model removes spurious notes",
      f"F1 with 20% notes added: edited {added['model-guided edit']:.3f}", baseline,
      fmt.held(added["model-guided edit"] > added["corrupted input"])))
  return rows


def top_n_claims(report, metric):
  top = report["top_n"]
  atoms = top["atoms"]
  a = _enough(atoms["quality"], metric)
  e = _enough(top["quality"], metric)
  full = top["quality"][-1][metric]
  rows = [_row(
      "keeping the top N atoms (the N most used in the window) simplifies (3.4)",
      f"N = {atoms['n'][a]} atoms reach {metric} {atoms['quality'][a][metric]:.3f} (all "
      f"{atoms['n'][-1]}: {atoms['quality'][-1][metric]:.3f})",
      f"the N largest entries instead: N = {top['n'][e]} reach {top['quality'][e][metric]:.3f}",
      fmt.held(atoms["quality"][a][metric] > 0.5 * atoms["quality"][-1][metric]))]
  code_bytes = top["code_bytes_per_unit"][-1]
  baseline = (f"lossless ({top['lossless']}) {top['lossless_bytes_per_unit']:.1f}; MIDI file "
              f"{top['midi_bytes_per_unit']:.1f}")
  if "grid_baseline" in top:  # the code is lossy: it must beat the lossy grid at equal quality
    grid = compression.bytes_at_quality(top["grid_baseline"], full, "bytes_per_unit")
    baseline = ("the grid of the most played rows at equal F1: "
                + ("never reaches it" if grid is None else f"{grid:.1f}") + "; " + baseline)
    held = fmt.held(grid is None or code_bytes < grid)
  else:
    held = fmt.held(code_bytes < top["lossless_bytes_per_unit"]) + " (vs lossless)"
  rows.append(_row("the code compresses music (3.4)",
                   f"all N: {metric} {full:.3f} in {code_bytes:.1f} bytes per {top['unit']}",
                   baseline, held))
  return rows


def generation_claims(report):
  gen = report["generation"]
  if "drums" in gen:
    d = gen["drums"]
    return [_row(
        "structured drums from stitched beats (3.5)",
        f"{d['structure']}, {d['bars']} bars at {d['qpm']:g} bpm: {d['hits']} hits "
        f"({d['hits_per_bar']:.1f} per bar), on the grid: {fmt.yes_no(d['hits_on_grid'])}, "
        "repeated "
        f"sections equal: {fmt.yes_no(d['repeated_sections_equal'])}, distinct sections differ: "
        f"{fmt.yes_no(d['distinct_sections_differ'])}", "-",
        fmt.held(d["hits_on_grid"] and d["repeated_sections_equal"] and d["hits"] > 0))]
  p = gen["piano"]
  return [_row("piano generation from codes (3.6)",
               f"{p['notes']} notes in {p['seconds']:.1f} s ({p['notes_per_second']:.1f}/s), "
               f"pitches {p['pitch_range']}",
               f"held-out windows {p['held_out_notes_per_second']:.1f} notes/s",
               fmt.held(p["notes"] > 0))]


def generator_claims(report):
  comparison = report["generation"].get("generators")
  if not comparison:
    return []
  g = comparison["generators"]
  rows = []
  for name, section in (("interpolation", "averaging similar sections' codes"),
                        ("atom swap", "swapping atoms between similar sections")):
    r = g[name]
    rows.append(_row(
        f"generation by {section} (3.5-3.6): new (>= 50% of bars no near-copy) and like the "
        "data (notes over rows within 0.2 total variation)",
        f"{fmt.pct(r['novelty'])} of bars new; {r['notes_per_bar']:.1f} notes per bar; distance "
        f"{r['row_share_distance']:.2f}",
        f"held-out music {fmt.pct(g['held-out windows (reference)']['novelty'])} new, "
        f"{r['held_out_notes_per_bar']:.1f} per bar; reconstruction control "
        f"{fmt.pct(g['reconstruction (control)']['novelty'])} new; Markov sampler "
        f"{fmt.pct(g['markov']['novelty'])}, {g['markov']['notes_per_bar']:.1f} per bar, "
        f"{g['markov']['row_share_distance']:.2f}",
        fmt.held((r["novelty"] or 0) >= 0.5 and r["row_share_distance"] <= 0.2)))
  return rows


def detection_claims(config, report):
  rows = []
  for name in config.analysis.style_labels:
    d = report["detection"].get(name)
    if d:
      rows.append(_row(
          "composers/players use different patterns: style map (3.7)",
          f"by {name}: nearest centroid on the mean code {_acc(d, 'centroid/code')}",
          f"raw {_acc(d, 'centroid/raw')}; majority {_acc(d, 'majority')}",
          fmt.held(d["centroid/code"]["mean"] > d["majority"]["mean"])))
  for name, d in report["detection"].items():
    if d is None:
      rows.append(_row(f"{name} detection (abstract)", f"fewer than two classes with "
                       f"{config.analysis.folds} pieces", "-", "n/a"))
      continue
    rows.append(_row(
        f"{name} detection (abstract)",
        f"linear probe on the mean code {_acc(d, 'probe/code')} ({d['classes']} classes, "
        f"{d['pieces']} pieces)", f"raw {_acc(d, 'probe/raw')}; majority {_acc(d, 'majority')}",
        fmt.held(d["probe/code"]["mean"] > d["majority"]["mean"] + d["probe/code"]["std"])))
  return rows


def style_order_claim(report):
  order = report.get("style_order")
  if not order:
    return []
  names = order["classes"]

  def pairs(kind):
    return ", ".join(f"{pair.replace('|', '-')} {d:.2f}"
                     for pair, d in order[kind]["distances"].items())

  d = order["detection"]
  detection = ("" if not d else
               f"; nearest centroid among the {len(names)}: code {_acc(d, 'centroid/code')}")
  baseline = f"raw input: {pairs('raw')}" + ("" if not d else
                                             f"; raw {_acc(d, 'centroid/raw')}, majority "
                                             f"{_acc(d, 'majority')}")
  return [_row(f"the style map orders {', '.join(names)} (3.7): {names[1]} between the others",
               f"centroid distances of the standardised mean code: {pairs('code')}{detection}",
               baseline, fmt.held(order["code"].get("middle_between", False)))]


def size_claim(report):
  size, paper = report["model_size"], report["paper"]
  authors = size.get("authors_variant")
  authors_text = ("" if not authors else
                  f"; this model fed the authors' one channel (`configs/maestro.py:authors`): "
                  f"{authors['parameters']:,} parameters = {authors['float64_bytes']:,} bytes "
                  "as float64 (no layer shapes in the paper give theirs exactly)")
  return [_row(
      "small model: 877 KB for MAESTRO (4)",
      f"{size['parameters']:,} parameters = {size['parameter_bytes'] / 1e3:.0f} KB as float32 "
      f"(checkpoint with Adam state {size['checkpoint_bytes'] / 1e3:.0f} KB){authors_text}",
      f"Performance RNN 25 MB; the paper's 877 KB is the authors' one-channel MAESTRO model, "
      f"{paper['authors_maestro_parameters']:,} float64 parameters = "
      f"{paper['authors_maestro_bytes']:,} bytes; its 750 KB drum figure matches nothing in the "
      "authors' code and is not reproduced",
      fmt.held(size["parameter_bytes"] < paper["performance_rnn_bytes"]))]


def ablation_claims(report, metric):
  results = report.get("ablations")
  if not results:
    return []
  runs, noise = results["runs"], results["noise"]
  rows = []
  noise_text = f"{fmt.pct(noise['drop'])} removed + {fmt.pct(noise['add'])} added"
  denoising = [name for name in runs if name.endswith("_denoising")]
  if denoising:
    best = max(denoising, key=lambda name: runs[name]["noisy output"])
    r = runs[best]
    beaten = [r["noisy input"]] + ([r["bar-repetition filter"]]
                                   if "bar-repetition filter" in r else [])
    rows.append(_row(
        f"beyond the paper: a denoising-trained model cleans ({noise_text})",
        f"best ({best}, k = {r['k']}): {metric} {r['noisy output']:.3f}",
        f"the corrupted input {r['noisy input']:.3f}"
        + (f"; bar-repetition filter {r['bar-repetition filter']:.3f}"
           if "bar-repetition filter" in r else ""),
        fmt.held(r["noisy output"] > max(beaten))))
  for name, run in runs.items():
    if name.endswith("_any_phase"):
      aligned = runs.get(name[:-len("_any_phase")])
      if aligned:
        rows.append(_row(
            f"the beat-length prior helps (3.5), k = {run['k']}",
            f"windows on the beat: {metric} {aligned['clean']:.3f}",
            f"windows starting at any step {run['clean']:.3f}",
            fmt.held(aligned["clean"] > run["clean"])))
  return rows


def token_cleaning_table(cells):
  lines = ["", "## Cleaning on tokens", "",
           f"Accuracy over {cells['test_windows']} test windows. Editing replaces every input "
           "token the model supports less than `low` (chosen on "
           f"{cells['validation_windows']} validation windows) by the model's own token.", ""]
  return lines + _table(
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
  lines += _table(
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
  lines += _table(
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
  return lines + _table(
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
      lines.append(f"| {name} | {d['classes']} | {d['pieces']} | {_acc(d, 'majority')} | "
                   f"{_acc(d, 'probe/code')} | {_acc(d, 'probe/raw')} | "
                   f"{_acc(d, 'centroid/code')} | {_acc(d, 'centroid/raw')} |")
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
  rec = report["reconstruction"]
  lines = header(config, report) + [
      "## The paper's claims and our measurements", "",
      "| claim (paper section) | ours | baseline | held |", "| --- | --- | --- | --- |",
      _row("the sparse code reconstructs music (3.3)", f"held-out {_metrics_text(rec)}",
           f"held if {metric} > 0.5", fmt.held(rec[metric] > 0.5))]
  lines += cleaning_claims(config, report, metric)
  lines += top_n_claims(report, metric)
  lines += generation_claims(report)
  lines += generator_claims(report)
  lines += detection_claims(config, report)
  lines += style_order_claim(report)
  lines += size_claim(report)
  lines += ablation_claims(report, metric)
  lines += cleaning_table(report)
  lines += ablation_table(report, metric, workdir)
  lines += top_n_table(report, metric)
  lines += generator_table(report)
  lines += detection_table(report)
  lines += media_lines(report, workdir)
  lines += ["", f"Analysis took {report['analysis_seconds']:.0f}s.", ""]
  return "\n".join(lines)
