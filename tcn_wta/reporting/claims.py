"""The TCN k-WTA report's claims (docs/tcn_wta.md, "Applications"), each decided against a
threshold in THRESHOLDS."""

from music_runtime.files import report_format as fmt
from music_runtime.files.claims import Claim
from tcn_wta.applications import compression
from tcn_wta.datasets import representations

THRESHOLDS = {
    "reconstruction": 0.5,     # held-out main metric (F1 or accuracy)
    "auroc": 0.8,              # true vs added (or replaced) notes; chance is 0.5
    "top_n_enough": 0.9,       # "N atoms reach": within this fraction of all atoms' quality
    "top_n_of_full": 0.5,      # the top N simplify: they keep this fraction of the quality
    "novelty": 0.5,            # generated bars that are no near-copy of a training bar
    "row_distance": 0.2,       # total variation of the notes' distribution over rows
}


def _metrics_text(values):
  return ", ".join(f"{name} {value:.3f}" for name, value in sorted(values.items()))


def mean_and_std(entry, key):
  return f"{100 * entry[key]['mean']:.1f}% +- {100 * entry[key]['std']:.1f}"


def _enough(quality, metric, fraction=THRESHOLDS["top_n_enough"]):
  """The first index whose quality is within `fraction` of the last (the full code's)."""
  return next(i for i, q in enumerate(quality) if q[metric] >= fraction * quality[-1][metric])


def reconstruction_claim(report, metric):
  t = THRESHOLDS
  rec = report["reconstruction"]
  return [Claim("the sparse code reconstructs music (3.3)", f"held-out {_metrics_text(rec)}", "-",
                rec[metric] > t["reconstruction"], f"{metric} > {t['reconstruction']:g}")]


def cleaning_claims(config, report, metric):
  """Claims on cleaning: on cells when the representation has them, else the one verdict."""
  t = THRESHOLDS
  clean = report["cleaning"]
  cells = clean.get("cells")
  if not cells:
    text = representations.of(config.data).corruption_text(clean["drop"], clean["add"])
    return [Claim("cleaning of musical sections (3)",
                 f"{metric} of the model's output {clean['cleaned'][metric]:.3f} ({text})",
                 f"the corrupted input {clean['corrupted'][metric]:.3f}",
                 clean["cleaned"][metric] > clean["corrupted"][metric])]
  if cells.get("tokens"):
    r = cells["conditions"]["replaced 20%"]
    return [
        Claim("cleaning (3): the output supports true tokens more than replaced ones",
             f"AUROC {fmt.num(r['auroc true vs replaced'])} with 20% of the tokens replaced",
             "chance 0.5", (r["auroc true vs replaced"] or 0) >= t["auroc"],
             f"AUROC >= {t['auroc']:g}"),
        Claim("cleaning (3): editing the input with the model repairs it",
             f"accuracy with 20% of the tokens replaced: edited {r['model-guided edit']:.3f}",
             f"the corrupted input {r['corrupted input']:.3f}; the model's output "
             f"{r['model output']:.3f}",
             r["model-guided edit"] > r["corrupted input"])]
  c, conditions = cells["clean"], cells["conditions"]
  both, added = conditions["both 20%"], conditions["added 20%"]
  rows = []
  if "recall recurring" in c:
    rows.append(Claim(
        "cleaning (3): the dictionary keeps what recurs, drops what does not",
        f"recall of clean notes recurring in >= {cells['min_bars']} of the window's bars "
        f"{fmt.pct(c['recall recurring'])}; loud notes {fmt.pct(c['recall loud'])}",
        f"one-off notes {fmt.pct(c['recall one-off'])}; soft notes {fmt.pct(c['recall soft'])}",
        (c["recall recurring"] or 0) > (c["recall one-off"] or 0)))
  rows.append(Claim(
      "cleaning (3): the output scores added notes lower than true ones",
      f"AUROC {fmt.num(both['auroc true vs added'])} at 20% removed + 20% added (removed vs silent "
      f"cells {fmt.num(both['auroc removed vs silent'])})", "chance 0.5",
      (both["auroc true vs added"] or 0) >= t["auroc"], f"AUROC >= {t['auroc']:g}"))
  baseline = f"the corrupted input {added['corrupted input']:.3f}" + (
      f"; bar-repetition filter {added['bar-repetition filter']:.3f}"
      if "bar-repetition filter" in added else "")
  rows.append(Claim(
      "cleaning (3): editing the input with the model removes spurious notes",
      f"F1 with 20% notes added: edited {added['model-guided edit']:.3f}", baseline,
      added["model-guided edit"] > added["corrupted input"]))
  return rows


def top_n_claims(report, metric):
  t = THRESHOLDS
  top = report["top_n"]
  atoms = top["atoms"]
  a = _enough(atoms["quality"], metric)
  e = _enough(top["quality"], metric)
  full = top["quality"][-1][metric]
  rows = [Claim(
      "keeping the top N atoms (the N most used in the window) simplifies (3.4)",
      f"N = {atoms['n'][a]} atoms reach {metric} {atoms['quality'][a][metric]:.3f} (all "
      f"{atoms['n'][-1]}: {atoms['quality'][-1][metric]:.3f})",
      f"the N largest entries instead: N = {top['n'][e]} reach {top['quality'][e][metric]:.3f}",
      atoms["quality"][a][metric] > t["top_n_of_full"] * atoms["quality"][-1][metric],
      f"N atoms' {metric} > {t['top_n_of_full']:g} x all atoms'")]
  code_bytes = top["code_bytes_per_unit"][-1]
  baseline = (f"lossless ({top['lossless']}) {top['lossless_bytes_per_unit']:.1f}; MIDI file "
              f"{top['midi_bytes_per_unit']:.1f}")
  if "grid_baseline" in top:  # the code is lossy: it must beat the lossy grid at equal quality
    grid = compression.bytes_at_quality(top["grid_baseline"], full, "bytes_per_unit")
    baseline = ("the grid of the most played rows at equal F1: "
                + ("never reaches it" if grid is None else f"{grid:.1f}") + "; " + baseline)
    held, rule = grid is None or code_bytes < grid, "fewer bytes than the lossy grid"
  else:
    held, rule = code_bytes < top["lossless_bytes_per_unit"], "vs lossless"
  rows.append(Claim("the code compresses music (3.4)",
                    f"all N: {metric} {full:.3f} in {code_bytes:.1f} bytes per {top['unit']}",
                    baseline, held, rule))
  return rows


def generation_claims(report):
  gen = report["generation"]
  if "drums" in gen:
    d = gen["drums"]
    return [Claim(
        "structured drums from stitched beats (3.5)",
        f"{d['structure']}, {d['bars']} bars at {d['qpm']:g} bpm: {d['hits']} hits "
        f"({d['hits_per_bar']:.1f} per bar), on the grid: {fmt.yes_no(d['hits_on_grid'])}, "
        "repeated "
        f"sections equal: {fmt.yes_no(d['repeated_sections_equal'])}, distinct sections differ: "
        f"{fmt.yes_no(d['distinct_sections_differ'])}", "-",
        d["hits_on_grid"] and d["repeated_sections_equal"] and d["hits"] > 0)]
  p = gen["piano"]
  return [Claim("piano generation from codes (3.6)",
               f"{p['notes']} notes in {p['seconds']:.1f} s ({p['notes_per_second']:.1f}/s), "
               f"pitches {p['pitch_range']}",
               f"held-out windows {p['held_out_notes_per_second']:.1f} notes/s",
               p["notes"] > 0)]


def generator_claims(report):
  t = THRESHOLDS
  comparison = report["generation"].get("generators")
  if not comparison:
    return []
  g = comparison["generators"]
  rows = []
  for name, section in (("interpolation", "averaging similar sections' codes"),
                        ("atom swap", "swapping atoms between similar sections")):
    r = g[name]
    rows.append(Claim(
        f"generation by {section} (3.5-3.6): new and like the data",
        f"{fmt.pct(r['novelty'])} of bars new; {r['notes_per_bar']:.1f} notes per bar; distance "
        f"{r['row_share_distance']:.2f}",
        f"held-out music {fmt.pct(g['held-out windows (reference)']['novelty'])} new, "
        f"{r['held_out_notes_per_bar']:.1f} per bar; reconstruction control "
        f"{fmt.pct(g['reconstruction (control)']['novelty'])} new; Markov sampler "
        f"{fmt.pct(g['markov']['novelty'])}, {g['markov']['notes_per_bar']:.1f} per bar, "
        f"{g['markov']['row_share_distance']:.2f}",
        (r["novelty"] or 0) >= t["novelty"] and r["row_share_distance"] <= t["row_distance"],
        f">= {fmt.pct(t['novelty'], 0)} of bars no near-copy; notes over rows within "
        f"{t['row_distance']:g} total variation"))
  return rows


def detection_claims(config, report):
  rows = []
  for name in config.analysis.style_labels:
    d = report["detection"].get(name)
    if d:
      rows.append(Claim(
          "composers/players use different patterns: style map (3.7)",
          f"by {name}: nearest centroid on the mean code {mean_and_std(d, 'centroid/code')}",
          f"raw {mean_and_std(d, 'centroid/raw')}; majority {mean_and_std(d, 'majority')}",
          d["centroid/code"]["mean"] > d["majority"]["mean"]))
  for name, d in report["detection"].items():
    if d is None:
      rows.append(Claim(f"{name} detection (abstract)", f"fewer than two classes with "
                       f"{config.analysis.folds} pieces", "-", None))
      continue
    rows.append(Claim(
        f"{name} detection (abstract)",
        f"linear probe on the mean code {mean_and_std(d, 'probe/code')} ({d['classes']} classes, "
        f"{d['pieces']} pieces)", f"raw {mean_and_std(d, 'probe/raw')}; majority {mean_and_std(d, 'majority')}",
        d["probe/code"]["mean"] > d["majority"]["mean"] + d["probe/code"]["std"],
        "above majority by one std"))
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
               f"; nearest centroid among the {len(names)}: code {mean_and_std(d, 'centroid/code')}")
  baseline = f"raw input: {pairs('raw')}" + ("" if not d else
                                             f"; raw {mean_and_std(d, 'centroid/raw')}, majority "
                                             f"{mean_and_std(d, 'majority')}")
  return [Claim(f"the style map orders {', '.join(names)} (3.7): {names[1]} between the others",
               f"centroid distances of the standardised mean code: {pairs('code')}{detection}",
               baseline, order["code"].get("middle_between", False))]


def size_claim(report):
  size, paper = report["model_size"], report["paper"]
  authors = size.get("authors_variant")
  authors_text = ("" if not authors else
                  f"; this model fed the authors' one channel (`configs/maestro.py:authors`): "
                  f"{authors['parameters']:,} parameters = {authors['float64_bytes']:,} bytes "
                  "as float64 (no layer shapes in the paper give theirs exactly)")
  return [Claim(
      "small model: 877 KB for MAESTRO (4)",
      f"{size['parameters']:,} parameters = {size['parameter_bytes'] / 1e3:.0f} KB as float32 "
      f"(checkpoint with Adam state {size['checkpoint_bytes'] / 1e3:.0f} KB){authors_text}",
      f"Performance RNN 25 MB; the paper's 877 KB is the authors' one-channel MAESTRO model, "
      f"{paper['authors_maestro_parameters']:,} float64 parameters = "
      f"{paper['authors_maestro_bytes']:,} bytes; its 750 KB drum figure matches nothing in the "
      "authors' code and is not reproduced",
      size["parameter_bytes"] < paper["performance_rnn_bytes"])]


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
    rows.append(Claim(
        f"beyond the paper: a denoising-trained model cleans ({noise_text})",
        f"best ({best}, k = {r['k']}): {metric} {r['noisy output']:.3f}",
        f"the corrupted input {r['noisy input']:.3f}"
        + (f"; bar-repetition filter {r['bar-repetition filter']:.3f}"
           if "bar-repetition filter" in r else ""),
        r["noisy output"] > max(beaten)))
  for name, run in runs.items():
    if name.endswith("_any_phase"):
      aligned = runs.get(name[:-len("_any_phase")])
      if aligned:
        rows.append(Claim(
            f"the beat-length prior helps (3.5), k = {run['k']}",
            f"windows on the beat: {metric} {aligned['clean']:.3f}",
            f"windows starting at any step {run['clean']:.3f}",
            aligned["clean"] > run["clean"]))
  return rows


