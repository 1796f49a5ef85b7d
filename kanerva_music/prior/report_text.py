"""REPORT.md of the inpainting network: its targets beside the baselines, every mask and read,
code lengths, and a melody harmonised."""

import os
from typing import Mapping

from music_runtime.files import claims
from music_runtime.files import report_format as fmt
from music_runtime.files.claims import Claim

MASK_NAMES = {"half": "second half hidden", "random_50": "random 50% hidden",
              "soprano": "soprano given (harmonise a melody)", "bass": "bass given",
              "outer": "soprano and bass given", "three_quarters": "last 3/4 hidden",
              "random_25": "random 25% hidden", "random_75": "random 75% hidden"}
BASELINE_NAMES = {"hold_last_chord": "hold the last chord",
                  "nearest_train": "nearest training window",
                  "parallel_motion": "parallel motion"}
# The targets (unseen test episodes, the one-pass read): exact accuracy at least, NLL per hidden
# note at most, and the margin over the nearest training window where one applies.
THRESHOLDS = {"random_50": {"exact": 0.80, "nll": 0.65}, "half": {"exact": 0.32, "nll": 2.0},
              "soprano": {"exact": 0.38, "over_nearest": 0.08}, "outer": {"exact": 0.50}}
EVAL_SECONDS = 60.0


def _exact(report, mask, read="one_pass"):
  return report["prior"]["complete"][mask][read]["novel"]["acc_exact"]


def _best_baseline(report, mask):
  scores = {b: v["novel"]["acc_exact"] for b, v in report["baselines"][mask].items()}
  name = max(scores, key=scores.get)
  return name, scores[name]


def target_claims(report: Mapping) -> list:
  """One Claim per target of THRESHOLDS on the masks the report measured, the code length
  against lzma, and the evaluation's time."""
  prior = report["prior"]
  splits = prior["nll_by_split"]
  gap = (f"NLL per hidden note: train {fmt.num(splits['train'])}, validation "
         f"{fmt.num(splits['validation'])} (training-kind masks)")
  rows = []
  for mask, rule in THRESHOLDS.items():
    if mask not in prior["complete"]:
      continue
    exact = _exact(report, mask)
    nll = prior["complete"][mask]["one_pass"]["novel"]["nll_nats_per_note"]
    name, best = _best_baseline(report, mask)
    held = exact >= rule["exact"]
    parts = [f"exact >= {fmt.pct(rule['exact'], 0)}"]
    if "nll" in rule:
      held = held and nll <= rule["nll"]
      parts.append(f"NLL <= {rule['nll']}")
    if "over_nearest" in rule:
      nearest = report["baselines"][mask]["nearest_train"]["novel"]["acc_exact"]
      held = held and exact >= nearest + rule["over_nearest"]
      parts.append(f"nearest training window + {100 * rule['over_nearest']:.0f} points")
    rows.append(Claim(f"{MASK_NAMES[mask]}, unseen", f"{fmt.pct(exact)}, {fmt.num(nll)} nats",
                      f"{BASELINE_NAMES[name]} {fmt.pct(best)}", held, "; ".join(parts),
                      reason=gap))
  code = prior["code_length"]
  rows.append(Claim("code length of unseen episodes (bits per note)",
                    fmt.num(code["bits_per_note"]), f"lzma {fmt.num(code['lzma_bits_per_note'])}"
                    f", a byte per pitch 8", code["bits_per_note"] <= code["lzma_bits_per_note"],
                    "<= lzma", reason=gap))
  seconds = report["timing"]["eval_seconds"]
  stages = report["timing"]["eval_stage_seconds"]
  rows.append(Claim("evaluation time", f"{seconds:.0f}s", "-", seconds <= EVAL_SECONDS,
                    f"<= {EVAL_SECONDS:.0f}s",
                    reason=", ".join(f"{k} {v:.0f}s" for k, v in stages.items())))
  return rows


def markdown(report: Mapping, media: Mapping, workdir: str, config) -> str:
  """REPORT.md of `report` (prior.report.write_report), linking `media` inside `workdir`."""
  rel = lambda path: os.path.relpath(path, workdir)
  prior, base = report["prior"], report["baselines"]
  summary = prior["config_summary"]
  reads_measured = next(iter(prior["complete"].values()))
  gibbs_episodes = reads_measured["gibbs"]["novel"]["episodes"]
  one_episodes = reads_measured["one_pass"]["novel"]["episodes"]
  lines = [
      "# The inpainting network (an orderless prior over chorale episodes)", "",
      f"Data: {summary['data_source']}. Network: {summary['network']}, width "
      f"{summary['width']}, depth {summary['depth']}, {summary['num_parameters']:,} parameters; "
      f"the parameters of step {prior['best']['step']} (lowest validation NLL, "
      f"{fmt.num(prior['best']['validation_nll'])} nats per hidden note). Unseen test episodes "
      f"(the DKM reports' draw): {one_episodes} for the one-pass read, {gibbs_episodes} for "
      "Gibbs sampling; scores on the hidden entries only.", "",
      "## Targets", ""]
  lines += claims.claims_table(target_claims(report), first="target", with_reason=True)
  lines += ["", "## Completion of unseen episodes (exact pitch on the hidden entries)", "",
            "The one-pass read takes each hidden entry's most probable pitch (what exact "
            "accuracy rewards); Gibbs sampling draws one coherent fill (what the listening "
            "examples play), so it scores lower per entry.", ""]
  columns = ["mask", "one pass", "NLL (nats / hidden note)", "Gibbs sample"]
  columns += [BASELINE_NAMES[b] for b in BASELINE_NAMES]
  rows = []
  for mask, by_read in prior["complete"].items():
    rows.append([MASK_NAMES.get(mask, mask), fmt.pct(by_read["one_pass"]["novel"]["acc_exact"]),
                 fmt.num(by_read["one_pass"]["novel"]["nll_nats_per_note"]),
                 fmt.pct(by_read["gibbs"]["novel"]["acc_exact"])]
                + [fmt.pct(base[mask][b]["novel"]["acc_exact"]) for b in BASELINE_NAMES])
  lines += claims.table(columns, rows)
  code = prior["code_length"]
  lines += ["", "## Code length of whole unseen episodes", "",
            f"The chain rule along {code['orders']} random orders of the 128 entries "
            f"({code['block']} entr{'y' if code['block'] == 1 else 'ies'} per network call), "
            f"{code['episodes']} unseen episodes: the length an arithmetic coder along the "
            "order achieves.", ""]
  lines += claims.table(["code", "bits per note"], [
      ["inpainting network (mean over orders)", fmt.num(code["bits_per_note"])],
      ["... each order", ", ".join(fmt.num(v) for v in code["bits_per_note_by_order"])],
      ["lzma of the same episodes' pitch bytes (one stream)",
       fmt.num(code["lzma_bits_per_note"])],
      ["a byte per pitch", fmt.num(code["byte_bits_per_note"], 0)]])
  agreement = prior["harmonisation_agreement"]
  timing = report["timing"]
  train_s = "n/a" if timing["train_seconds"] is None else f"{timing['train_seconds']:.0f}s"
  lines += ["", "## Listening: a test chorale's melody harmonised", "",
            f"![harmonisation]({rel(media['harmonisation'])})", "",
            "Eight bars of an unseen test chorale, its soprano given; alto, tenor and bass "
            "filled window by window (two bars, one bar at a time). Same pitch as Bach in the "
            f"filled voices: one pass {fmt.pct(agreement['one_pass'])}, Gibbs "
            f"{fmt.pct(agreement['gibbs'])}.", "",
            f"Audio ({media['synth']} synthesis; MIDI beside each WAV):"]
  for name, label in (("melody", "the melody"), ("one_pass", "one pass"),
                      ("gibbs", "Gibbs sample"), ("bach", "Bach, as written")):
    lines.append(f"- {label}: [midi]({rel(media[name])}) ([wav]({rel(media[name])[:-4]}.wav))")
  variant = config.name[len("chorales_"):] if config.name.startswith("chorales_") else "prior"
  lines += ["", f"Command: `python -m kanerva_music.main --config=configs/chorales.py:"
            f"{variant}`. Timing: training {train_s}, evaluation "
            f"{timing['eval_seconds']:.1f}s.", ""]
  return "\n".join(lines)
