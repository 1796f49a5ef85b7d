"""REPORT.md of the linear DKM: the claims table, then every read and baseline, capacity and
storage tables, figures and listening files, rendered from report.json (`report.write_report`
measures)."""

import os

from kanerva_music.evaluation import capacity
from kanerva_music.evaluation import storage
from kanerva_music.reporting import claims
from kanerva_music.reporting import listener_report
from kanerva_music.reporting import storage_tables
from music_runtime.files import claims as claim_tables
from music_runtime.files import report_format as fmt


def _rel(path, workdir):
  return os.path.relpath(path, workdir)


def capacity_markdown(report, config):
  """Tables of exact accuracy vs stored episodes T, per read and K, and the largest T that
  keeps 90% half-masked recall."""
  lines = ["", "## Capacity (beyond the paper): exact accuracy vs stored episodes T", "",
           f"Memories of K = {config.model.num_rows} rows are the trained model; other K use the "
           "same configuration with its initial prior mean, untrained. `readout` is the accuracy "
           "of the memory's own read-outs W R' of the stored episodes: the ceiling of the "
           "attention read, and what K rows cannot hold once T > K. Attention beta = "
           f"{report['attention']['beta']:g}; one read each; denoising cue + N(0, "
           f"{config.eval.denoise_noise_std}^2). `read@precision` reads the same memories (and "
           "read-outs) kept at that precision (half masked only). K marked * has K >= C: full "
           "rank, it reconstructs any episode."]
  num_cols = 4 * config.data.episode_steps
  for title, key in (("any test episodes", "capacity_curves"),
                     ("T windows of one chorale (correlated)", "capacity_curves_same_chorale")):
    curves = report[key]
    sizes = sorted({t for by_rows in curves.values() for by_size in by_rows.values()
                    for t in by_size}, key=int)
    lines += ["", f"### {title}", "",
              "| read | K | task | " + " | ".join(f"T={t}" for t in sizes)
              + " | largest T >= 90% |", "| --- " * (len(sizes) + 4) + "|"]
    for read, by_rows in curves.items():
      for rows, by_size in by_rows.items():
        tasks = [t for t in capacity.TASKS if t in next(iter(by_size.values()))]
        star = "*" if rows != "all" and storage.full_rank(int(rows), num_cols) else ""
        for task in tasks:
          cells = [fmt.pct(by_size[t][task]["acc_exact"]) if t in by_size else "-" for t in sizes]
          lines.append(f"| {read} | {rows}{star} | {task} | " + " | ".join(cells)
                       + f" | {capacity.largest_size(by_size, task)} |")
  return lines + ["", "![capacity](capacity.png)"]


def markdown(report, media, workdir, config):
  """REPORT.md: each of the paper's claims beside our measurement and the baselines."""
  iters = config.eval.num_iters
  summary = report["config_summary"]
  comp, base = report["complete"], report["baselines"]
  lines = [
      "# DKM on Bach chorales: report", "",
      f"Data: {summary['data_source']}, {summary['split']} split. Model: U0 {summary['prior_cov']}, "
      f"sigma_xi {summary['sigma_xi']}, K = {summary['num_rows']}, writes at the "
      f"{summary['write_addresses']} address{' (sequential)' if summary['sequential_write'] else ''}"
      f", ELBO read address against the {summary['read_address']}; headline read "
      f"`{summary['read']}`. Memories of T = {config.episodes_per_memory} test episodes, "
      f"{config.eval.num_memories} memories; metrics on noised or masked entries only; "
      "accuracy after de-normalising and rounding to MIDI pitches (exact / within a whole step). "
      "Iteration 0 is the cue. Baselines are scored on the same episodes, masks and entries.", "",
      "## The paper's claims, our measurements and the baselines", ""]
  lines += claim_tables.claims_table(claims.paper_claims(report, config), with_paper=True)
  lines += ["", "## Completion after the final iteration: every read and baseline", "",
            "| mask | read | stored: MSE | exact | <=1 | <=2 | unseen: MSE | exact | <=1 | <=2 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  final = lambda v: v[-1] if isinstance(v, list) else v
  for mask_name, by_method in comp.items():
    rows = list(by_method.items()) + [(f"baseline: {name}", by_query)
                                      for name, by_query in base[mask_name].items()]
    for method, by_query in rows:
      r, n = by_query["recall"], by_query["novel"]
      lines.append(f"| {mask_name} | {method} | {final(r['mse']):.4f} | "
                   f"{fmt.pct(final(r['acc_exact']))} | {fmt.pct(final(r['acc_1']))} | "
                   f"{fmt.pct(final(r['acc_2']))} | {final(n['mse']):.4f} | "
                   f"{fmt.pct(final(n['acc_exact']))} | {fmt.pct(final(n['acc_1']))} | "
                   f"{fmt.pct(final(n['acc_2']))} |")
  lines += ["", f"Modern Hopfield beta = {report['baseline_settings']['modern_hopfield_beta']:g}, "
            "chosen on validation memories (best mean of stored and unseen exact accuracy, half "
            f"masked); nearest training window over {report['baseline_settings']['num_train_windows']}"
            " training windows.", "",
            "## Denoising per iteration (exact / within a whole step)", "",
            "| iteration | " + " | ".join(report["denoise_by_read"]) + " |",
            "| --- " * (len(report["denoise_by_read"]) + 1) + "|"]
  for i in range(iters + 1):
    lines.append(f"| {i} | " + " | ".join(claims.exact_and_within_step(m, i) for m in report["denoise_by_read"].values())
                 + " |")
  lines += ["", "| baseline | exact | <=1 | <=2 | MSE |", "| --- | --- | --- | --- | --- |"]
  for name, m in base["denoise"].items():
    lines.append(f"| {name} | {fmt.pct(m['acc_exact'])} | {fmt.pct(m['acc_1'])} | "
                 f"{fmt.pct(m['acc_2'])} "
                 f"| {m['mse']:.5f} |")
  if "capacity_curves" in report:
    lines += capacity_markdown(report, config)
    lines += storage_tables.markdown(report)
  rel = lambda path: _rel(path, workdir)
  if "listener" in report:
    lines += listener_report.markdown(report["listener"], media, rel, config,
                                      summary["num_rows"])
  timing = report["timing"]
  train_s = "n/a" if timing["train_seconds"] is None else f"{timing['train_seconds']:.1f}s"
  lines += ["", "## Figures", "",
            f"![denoising]({_rel(media['fig2'], workdir)})", "",
            f"![completion]({_rel(media['fig3'], workdir)})", "",
            (f"![continuation]({_rel(media['fig4'], workdir)})" if "fig4" in media
             else "(figure 4 skipped: no rest-free 4-bar test passage)"), "",
            "Figure 4 stores the passage's three 2-bar windows with other test episodes (T in "
            "all), gives the first two bars and completes one bar at a time.", "",
            f"## Listening ({media['synth']} synthesis; MIDI beside each WAV)", ""]
  for name in ("denoise", "complete", "continue"):
    if f"{name}_original" not in media:
      continue
    parts = [f"[{kind}]({_rel(media[f'{name}_{kind}'], workdir)}) "
             f"([wav]({_rel(media[f'{name}_{kind}'], workdir)[:-4]}.wav))"
             for kind in (("original", "given", "output") if name == "continue"
                          else ("original", "cue", "output"))]
    lines.append(f"- {name}: " + ", ".join(parts))
  if "listener" in report:
    lines += listener_report.listening_lines(media, rel, report["listener"]["example_size"])
  lines += ["", f"Timing: training {train_s}, evaluation {timing['eval_seconds']:.1f}s.", ""]
  return "\n".join(lines)
