"""REPORT.md of the inpainting network: its targets beside the baselines, every mask and read,
code lengths, and a melody harmonised."""

import os
from typing import Mapping

from ml_collections import ConfigDict
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
TRAIN_SECONDS = 20 * 60.0  # on 2 CPU cores
# The context task's targets: memory on at least memory off + 3 points and at least the list,
# on these masks; stored recall at least 99% exact on every mask.
CONTEXT_MARGIN = 0.03
CONTEXT_TARGET_MASKS = ("half", "soprano")
STORED_EXACT = 0.99


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
  rows += context_claims(prior, gap)
  code = prior["code_length"]
  rows.append(Claim("code length of unseen episodes (bits per note)",
                    fmt.num(code["bits_per_note"]), f"lzma {fmt.num(code['lzma_bits_per_note'])}"
                    f", a byte per pitch 8", code["bits_per_note"] <= code["lzma_bits_per_note"],
                    "<= lzma", reason=gap))
  rows += training_claims(report, gap)
  seconds = report["timing"]["eval_seconds"]
  stages = report["timing"]["eval_stage_seconds"]
  rows.append(Claim("evaluation time", f"{seconds:.0f}s", "-", seconds <= EVAL_SECONDS,
                    f"<= {EVAL_SECONDS:.0f}s",
                    reason=", ".join(f"{k} {v:.0f}s" for k, v in stages.items())))
  return rows


def training_claims(report: Mapping, gap: str) -> list:
  """The training time against TRAIN_SECONDS, with the throughput and where the best validation
  NLL fell (a best at the last step says more steps would still pay); none if not recorded."""
  seconds = report["timing"]["train_seconds"]
  if not seconds:
    return []
  summary = report["prior"]["config_summary"]
  steps, best = summary["num_train_steps"], summary["best_step"]
  return [Claim("training time", f"{seconds / 60:.1f} min ({steps:,} steps, "
                f"{steps / seconds:.2f} steps/s)", "-", seconds <= TRAIN_SECONDS,
                f"<= {TRAIN_SECONDS / 60:.0f} min",
                reason=f"the best validation NLL at step {best:,} of {steps:,}; {gap}")]


def context_claims(prior: Mapping, gap: str) -> list:
  """The context task's targets (CONTEXT_MARGIN, STORED_EXACT), where it was measured."""
  if "context" not in prior:
    return []
  rows = []
  for mask in CONTEXT_TARGET_MASKS:
    if mask not in prior["context"]:
      continue
    by = {k: v["acc_exact"] for k, v in prior["context"][mask].items()}
    held = by["memory_on"] >= max(by["memory_off"] + CONTEXT_MARGIN, by["list"])
    rows.append(Claim(f"context task, {MASK_NAMES[mask]}: memory on", fmt.pct(by["memory_on"]),
                      f"memory off {fmt.pct(by['memory_off'])}, list {fmt.pct(by['list'])}, "
                      f"hold the last chord {fmt.pct(by['hold_last_chord'])}",
                      held, f">= memory off + {100 * CONTEXT_MARGIN:.0f} points and >= the list",
                      reason=gap))
  worst = min(prior["stored"], key=lambda m: prior["stored"][m]["acc_exact"])
  stored = prior["stored"][worst]
  rows.append(Claim("stored recall (the window itself in the memory), worst mask",
                    f"{fmt.pct(stored['acc_exact'])} ({MASK_NAMES.get(worst, worst)})",
                    f"the cues' ceiling {fmt.pct(stored['ceiling'])}",
                    stored["acc_exact"] >= STORED_EXACT, f">= {fmt.pct(STORED_EXACT, 0)}",
                    reason="the ceiling: other windows of the chorale agree with the window on "
                           "every given entry, so no read can tell them apart"))
  return rows


def context_lines(prior: Mapping) -> list:
  """REPORT.md's table of the context task."""
  ctx = prior["context"]
  lines = ["", "## The memory as context: completing a window of a piece heard before", "",
           f"{prior['context_windows']} bar-aligned windows of unseen test chorales; the memory "
           f"(K = {prior['context_memory_rows']} rows) holds each chorale's other bar-aligned "
           "windows that do not overlap the window "
           f"({fmt.num(prior['context_mean_stored'], 1)} on average), written in the one-hot "
           "pitch code; the same network reads its read-out as context (memory on) or a zero "
           "context (memory off). The list copies the hidden entries of the stored window "
           "nearest on the given entries. Stored recall adds the window itself to the memory. "
           "Bytes: what each keeps of the piece (float32 memory; a byte per pitch for the "
           "list).", ""]
  rows = []
  for mask, by in ctx.items():
    stored = prior["stored"][mask]
    rows.append([MASK_NAMES.get(mask, mask)]
                + [f"{fmt.pct(by[k]['acc_exact'])} ({by[k]['bytes']:,.0f} B)"
                   for k in ("memory_on", "memory_off", "list", "hold_last_chord")]
                + [fmt.pct(stored["acc_exact"]), fmt.pct(stored["ceiling"])])
  lines += claims.table(["mask", "memory on", "memory off", "list", "hold the last chord",
                         "stored recall",
                         "stored recall's ceiling"], rows)
  return lines


def markdown(report: Mapping, media: Mapping, workdir: str, config: ConfigDict) -> str:
  """REPORT.md of `report` (prior.report.write_report), linking `media` inside `workdir`."""
  rel = lambda path: os.path.relpath(path, workdir)
  prior, base = report["prior"], report["baselines"]
  summary = prior["config_summary"]
  sampled = [m for m, by_read in prior["complete"].items() if "gibbs" in by_read]
  gibbs_episodes = (prior["complete"][sampled[0]]["gibbs"]["novel"]["episodes"] if sampled
                    else 0)
  one_episodes = next(iter(prior["complete"].values()))["one_pass"]["novel"]["episodes"]
  gibbs_where = ("every mask" if len(sampled) == len(prior["complete"])
                 else "; ".join(MASK_NAMES.get(m, m) for m in sampled) or "no mask")
  lines = [
      "# The inpainting network (an orderless prior over chorale episodes)", "",
      f"Data: {summary['data_source']}. Network: {summary['network']}, width "
      f"{summary['width']}, depth {summary['depth']}, {summary['num_parameters']:,} parameters; "
      f"the parameters of step {prior['best']['step']} (lowest validation NLL, "
      f"{fmt.num(prior['best']['validation_nll'])} nats per hidden note). Unseen test episodes "
      f"(the DKM reports' draw): {one_episodes} for the one-pass read, {gibbs_episodes} for "
      f"Gibbs sampling (masks: {gibbs_where}); scores on the hidden entries only.", "",
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
                 fmt.pct(by_read["gibbs"]["novel"]["acc_exact"]) if "gibbs" in by_read
                 else "-"]
                + [fmt.pct(base[mask][b]["novel"]["acc_exact"]) for b in BASELINE_NAMES])
  lines += claims.table(columns, rows)
  if "context" in prior:
    lines += context_lines(prior)
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
