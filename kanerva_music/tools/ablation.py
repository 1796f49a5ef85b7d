r"""Ablation tables from trained workdirs' report.json files.

  python -m kanerva_music.tools.ablation runs/chorales runs/sweeps/chorales/*
  python -m kanerva_music.tools.ablation --models runs/chorales runs/chorales_codec*

The first table (linear DKMs: prior covariance x read) gives one row per read in READS: test
ELBO, memory KL per dimension, half-masked exact accuracy of stored and unseen episodes, and
denoising exact accuracy at iterations 1 and the last one. `--models` sets linear and codec DKMs
side by side at their bytes: code size C' and rows K, memory bytes, stored and unseen completion
(half masked; unseen also under random 50% masks), denoising, the memory-off read, the decoder's
ceiling (decoding each episode's own code), the largest T recalled at >= 90% within 16 KB and
bits per note (a code length for the codec; the linear DKM's Gaussian density is none).
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
  found = [v["largest_t"] for k, v in budget.items() if k.startswith(("codec", "dkm_lstsq"))]
  return str(max(found)) if found else "-"


def model_row(report):
  """(model, C' x K, bytes, stored half, unseen half, unseen random 50%, denoise, memory off,
  decoder ceiling, largest T within 16 KB, bits per note) of a linear or codec DKM's
  report.json."""
  if "codec" in report:
    codec = report["codec"]
    summary, complete = codec["config_summary"], codec["complete"]
    final = lambda mask, read, query: complete[mask][read][query]["acc_exact"][-1]
    ceiling = ("-" if "autoencoder" not in complete["half"]
               else fmt.pct(final("half", "autoencoder", "recall")))
    return (f"codec ({summary['encoder']})", f"{summary['code_size']} x {summary['num_rows']}",
            f"{summary['memory_bytes']:,}", fmt.pct(final("half", "encoder", "recall")),
            fmt.pct(final("half", "encoder", "novel")),
            fmt.pct(final("random_50", "encoder", "novel")),
            fmt.pct(codec["denoise"]["acc_exact"][-1]),
            fmt.pct(final("half", "memory_off", "recall")),
            ceiling, _budget_t(report), f"{codec['elbo']['test']['bits_per_note']:.3f}")
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


def _reports(workdirs):
  for workdir in workdirs:
    path = os.path.join(workdir, "report.json")
    if not os.path.exists(path):
      raise FileNotFoundError(f"{path}: no report; run python -m kanerva_music.main "
                              f"--mode=eval --workdir={workdir} first")
    yield workdir, workdir_utils.read_json(path, "report")


def table(workdirs):
  lines = ["| workdir | U0 | read | test ELBO (bits) | memory KL / dim | half stored exact | "
           "half unseen exact | denoise it. 1 | denoise last |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  for workdir, report in _reports(workdirs):
    lines += [f"| {workdir} | " + " | ".join(cells) + " |" for cells in rows(report)]
  return "\n".join(lines)


def models_table(workdirs):
  lines = ["| workdir | model | C' x K | memory bytes | half stored exact | half unseen "
           "exact | random 50% unseen exact | denoise | memory off, half stored | decoder "
           "ceiling, half | largest T at 16 KB | bits per note |",
           "| --- " * 12 + "|"]
  for workdir, report in _reports(workdirs):
    lines.append(f"| {workdir} | " + " | ".join(model_row(report)) + " |")
  return "\n".join(lines)


def main(argv):
  if len(argv) < 2:
    print(__doc__.strip(), file=sys.stderr)
    return 2
  models = argv[1] == "--models"
  workdirs = argv[2:] if models else argv[1:]
  try:
    print(models_table(workdirs) if models else table(workdirs))
  except (FileNotFoundError, workdir_utils.WorkdirFileError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
