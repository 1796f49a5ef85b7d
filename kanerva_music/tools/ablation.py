r"""Ablation tables from trained workdirs' report.json files.

  python -m kanerva_music.tools.ablation runs/chorales runs/sweeps/chorales/*
  python -m kanerva_music.tools.ablation --models runs/chorales runs/chorales_prior

The first table (linear DKMs: prior covariance x read) gives one row per read in READS: test
ELBO, memory KL per dimension, half-masked exact accuracy of stored and unseen episodes, and
denoising exact accuracy at iterations 1 and the last one. `--models` sets linear DKMs and
inpainting networks side by side at their bytes: code size C' and rows K, memory bytes, stored and
unseen completion (half masked; unseen also under random 50% masks), denoising, the memory-off
read, the stored recall's ceiling, the largest T recalled at >= 90% within 16 KB and bits per note
(a code length for the inpainting network; the linear DKM's Gaussian density is none). An
inpainting network's row holds its memory-context figures (stored: the episode itself in the
memory, memory off: the context task's windows). Workdirs trained on different data are refused unless
`--mixed_data` is given; the tables then name each row's data.
"""

import os
import sys

from music_runtime.files import report_format as fmt
from music_runtime.files import workdir_utils

READS = {"ridge": "svd", "lstsq": "lstsq"}


def rows(report):
  """[(cells...)] for one report.json dict."""
  summary = report["config_summary"]
  elbo = report["elbo_bits_per_dim"]["test"]
  out = []
  for read_name, read in READS.items():
    half = report["complete"]["half"][read]
    den = report["denoise_by_read"][read]["acc_exact"]
    out.append((summary["prior_cov"], read_name, f"{elbo['mean']:.3f}",
                f"{report['memory_use']['kl_memory_per_dim']:.3g}",
                f"{100 * half['recall']['acc_exact'][-1]:.1f}%",
                f"{100 * half['novel']['acc_exact'][-1]:.1f}%",
                f"{100 * den[1]:.1f}%", f"{100 * den[-1]:.1f}%"))
  return out


def _budget_t(report, num_bytes="16384"):
  """The largest T the report's memory family recalls at >= 90% within num_bytes ('-' if the
  report has no budget table)."""
  budget = report.get("budget", {}).get(num_bytes, {})
  found = [v["largest_t"] for k, v in budget.items() if k.startswith("dkm_lstsq")]
  return str(max(found)) if found else "-"


def _prior_row(prior):
  """`model_row` of an inpainting network's report: its one-pass read, its memory's figures."""
  summary, complete = prior["config_summary"], prior["complete"]
  novel = lambda mask: fmt.pct(complete[mask]["one_pass"]["novel"]["acc_exact"])
  stored = prior.get("stored", {}).get("half")
  off = prior.get("context", {}).get("half", {}).get("memory_off")
  rows = prior.get("context_memory_rows")
  return (f"inpainting network ({summary['network']})",
          f"one-hot x {rows}" if rows else "-",
          f"{stored['bytes']:,}" if stored else "-",
          fmt.pct(stored["acc_exact"]) if stored else "-", novel("half"), novel("random_50"),
          "-", fmt.pct(off["acc_exact"]) + " (context task)" if off else "-",
          fmt.pct(stored["ceiling"]) if stored else "-", "-",
          f"{prior['code_length']['bits_per_note']:.3f}")


def model_row(report):
  """(model, C' x K, bytes, stored half, unseen half, unseen random 50%, denoise, memory off,
  stored recall's ceiling, largest T within 16 KB, bits per note) of a linear DKM's or an
  inpainting network's report.json."""
  if "prior" in report:
    return _prior_row(report["prior"])
  summary = report["config_summary"]
  read = summary["read"]
  final = lambda mask, query: report["complete"][mask][read][query]["acc_exact"][-1]
  num_cols = summary.get("num_cols", 128)
  memory_bytes = summary.get("memory_bytes", summary["num_rows"] * num_cols * 4)
  return (f"linear ({read})", f"{num_cols} x {summary['num_rows']}", f"{memory_bytes:,}",
          fmt.pct(final("half", "recall")), fmt.pct(final("half", "novel")),
          fmt.pct(final("random_50", "novel")), fmt.pct(report["denoise"]["acc_exact"][-1]),
          "-", "-",
          _budget_t(report), "-")


class ReportError(ValueError):
  """A workdir's report.json cannot be tabulated."""


def _reports(workdirs, mixed_data=False):
  """(workdir, report, data line) of each workdir; all of one data unless mixed_data."""
  found = []
  for workdir in workdirs:
    path = os.path.join(workdir, "report.json")
    if not os.path.exists(path):
      raise ReportError(f"{path}: no report; run python -m kanerva_music.main "
                        f"--mode=eval --workdir={workdir} first")
    report = workdir_utils.read_json(path, "report")
    if not isinstance(report, dict):
      raise ReportError(f"{path}: expected a JSON object (a report of kanerva_music.main)")
    data = report.get("data_provenance") or {}
    found.append((workdir, report, data))
  hashes = {data.get("sha256") for _, _, data in found}
  if len(hashes) > 1 and not mixed_data:
    lines = "; ".join(f"{w}: {d.get('description', 'unknown data')} (sha256 "
                      f"{str(d.get('sha256'))[:12]})" for w, _, d in found)
    raise ReportError(f"the workdirs were trained on different data ({lines}); their figures "
                      "are not comparable: pass --mixed_data to tabulate them anyway")
  for workdir, report, data in found:
    yield workdir, report, f"{data.get('kind', '?')} {str(data.get('sha256'))[:12]}"


def _cells(workdir, report, make_rows):
  """make_rows(report), or one line naming the report and what it lacks."""
  try:
    return make_rows(report)
  except (KeyError, IndexError, TypeError, ValueError) as e:
    raise ReportError(f"{os.path.join(workdir, 'report.json')}: not a complete report of this "
                      f"table's models (missing or malformed {e}); rewrite it with python -m "
                      f"kanerva_music.main --mode=eval --workdir={workdir}") from e


def _linear_rows(workdir, report):
  if "prior" in report:
    raise ReportError(f"{workdir}: holds an inpainting network; this table is of linear DKMs (prior covariance "
                      "x read): pass --models to set it beside the others")
  return _cells(workdir, report, rows)


def table(workdirs, mixed_data=False):
  data_head, data_rule = ("data | ", "--- | ") if mixed_data else ("", "")
  lines = [f"| workdir | {data_head}U0 | read | test ELBO (bits) | memory KL / dim | half stored "
           "exact | half unseen exact | denoise it. 1 | denoise last |",
           f"| --- | {data_rule}--- | --- | --- | --- | --- | --- | --- | --- |"]
  for workdir, report, data in _reports(workdirs, mixed_data):
    lead = f"| {workdir} | " + (f"{data} | " if mixed_data else "")
    lines += [lead + " | ".join(cells) + " |" for cells in _linear_rows(workdir, report)]
  return "\n".join(lines)


def models_table(workdirs, mixed_data=False):
  data_head = "data | " if mixed_data else ""
  lines = [f"| workdir | {data_head}model | C' x K | memory bytes | half stored exact | half "
           "unseen exact | random 50% unseen exact | denoise | memory off, half | stored "
           "ceiling, half | largest T at 16 KB | bits per note |",
           "| --- " * (13 if mixed_data else 12) + "|"]
  for workdir, report, data in _reports(workdirs, mixed_data):
    lead = f"| {workdir} | " + (f"{data} | " if mixed_data else "")
    lines.append(lead + " | ".join(_cells(workdir, report, model_row)) + " |")
  return "\n".join(lines)


def main(argv):
  args = argv[1:]
  if any(a in ("-h", "--help", "-?", "--helpfull") for a in args):
    print(__doc__.strip())
    return 0
  models, mixed_data = "--models" in args, "--mixed_data" in args
  unknown = [a for a in args if a.startswith("--") and a not in ("--models", "--mixed_data")]
  workdirs = [a for a in args if not a.startswith("--")]
  if unknown or not workdirs:
    problem = f"unknown flag {unknown[0]}" if unknown else "no workdir given"
    print(f"error: {problem}\n\n{__doc__.strip()}", file=sys.stderr)
    return 2
  try:
    print(models_table(workdirs, mixed_data) if models else table(workdirs, mixed_data))
  except (ReportError, workdir_utils.WorkdirFileError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
