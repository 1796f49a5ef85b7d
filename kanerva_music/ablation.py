r"""The ablation table (prior covariance x read) from trained workdirs' report.json files.

  python -m kanerva_music.ablation runs/chorales runs/sweeps/chorales/*

Each workdir gives one row per read in READS: test ELBO, memory KL per dimension, half-masked
exact accuracy of stored and unseen episodes, and denoising exact accuracy at iterations 1 and
the last one.
"""

import json
import os
import sys

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


def table(workdirs):
  lines = ["| workdir | U0 | read | test ELBO (bits) | memory KL / dim | half stored exact | "
           "half unseen exact | denoise it. 1 | denoise last |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  for workdir in workdirs:
    path = os.path.join(workdir, "report.json")
    if not os.path.exists(path):
      raise FileNotFoundError(f"{path}: no report; run python -m kanerva_music.main "
                              f"--mode=eval --workdir={workdir} first")
    with open(path) as f:
      report = json.load(f)
    lines += [f"| {workdir} | " + " | ".join(cells) + " |" for cells in rows(report)]
  return "\n".join(lines)


def main(argv):
  if len(argv) < 2:
    print(__doc__.strip(), file=sys.stderr)
    return 2
  try:
    print(table(argv[1:]))
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
