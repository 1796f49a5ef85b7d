"""report.json, REPORT.md, figures and listening files for a trained DKM (paper section 4)."""

import os
import time
from typing import Optional

from absl import logging
import jax
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import capacity
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import frontier
from kanerva_music.evaluation import storage
from kanerva_music.memory import model
from kanerva_music.reporting import figures
from kanerva_music.reporting import music_io
from kanerva_music.reporting import storage_tables
from music_runtime.files import report_format as fmt
from music_runtime.files import workdir_utils
from music_runtime.running import compile_ahead
from music_runtime.running import config_checks

TIMING_FILE = "timing.json"


def recorded_train_seconds(workdir: str, train_seconds: Optional[float]) -> Optional[float]:
  """This run's training time, recorded in the workdir's timing.json; an evaluation-only run
  (None) reads back the recorded one, if any."""
  timing_path = os.path.join(workdir, TIMING_FILE)
  if train_seconds is not None:
    workdir_utils.write_json(timing_path, {"train_seconds": train_seconds})
  elif os.path.exists(timing_path):
    train_seconds = workdir_utils.read_json(timing_path, "timing record").get("train_seconds")
  return train_seconds


def novel_and_capacity_episodes(config, test_pool):
  """Novel and capacity sets beside the stored ones (the ELBO's test set): fixed, seeded draws
  from the test split, disjoint seeds."""
  m, t, s = config.eval.num_memories, config.episodes_per_memory, config.data.episode_steps
  seed = config.eval.seed
  novel = np.asarray(episodes.evaluation_set(test_pool, seed + 100, m, t, s))
  capacity = {size: np.asarray(episodes.evaluation_set(
      test_pool, seed + 200 + size, max(1, m * t // size), size, s))
              for size in evaluate.CAPACITY_SIZES}
  return novel, capacity


def _grid(x):
  """Normalised flat episode(s) -> [steps, 4] MIDI pitch grid (rounded)."""
  return episodes.to_pitches(np.asarray(x)).reshape(-1, 4).astype(np.float64)


def _masked_steps(mask):
  return np.asarray(mask).reshape(-1, 4)[:, 0] == 0


def _continuation_example(config, params, test_pool, stored, beta):
  """Seed figure 4: a test passage of 4 bars; 2 bars given, 2 more completed from memory."""
  starts = set(np.asarray(test_pool.window_starts).tolist())
  candidates = [s for s in starts if s + 16 in starts and s + 32 in starts]
  if not candidates:
    return None
  start = min(candidates)
  rows = np.asarray(test_pool.steps)[start:start + 64]  # 4 bars, normalised
  windows = np.stack([rows[i:i + 32].reshape(-1) for i in (0, 16, 32)])
  memory_content = np.concatenate([windows, stored[0, : config.episodes_per_memory - 3]])
  out = evaluate.continue_chorale(params, config.model, rows[:32], memory_content, 2,
                                  num_iters=config.eval.num_iters, beta=beta)
  return rows, out


def write_media(workdir, config, params, test_pool, stored, examples, beta):
  """Figures 2-4 as PNG and the pictured episodes as MIDI and WAV; returns {name: path}."""
  media = {}
  target, iterates = examples["denoise"]
  path = os.path.join(workdir, "fig2_denoise.png")
  figures.save_rows(path, [("original", _grid(target[0]), None),
                           ("noised cue", _grid(iterates[0, 0]), None),
                           ("iteration 1", _grid(iterates[1, 0]), None),
                           (f"iteration {len(iterates) - 1} (final)", _grid(iterates[-1, 0]), None)],
                    "Denoising (paper fig. 2)")
  media["fig2"] = path
  target, iterates, mask = examples["complete_half"]
  steps = _masked_steps(mask)
  cells = [[(_grid(target[e]), None), (np.where(steps[:, None], np.nan, _grid(target[e])), steps),
            (_grid(iterates[-1, e]), steps)] for e in range(4)]
  path = os.path.join(workdir, "fig3_complete.png")
  figures.save_grid(path, cells, ["original", "second half masked", "completed"],
                    "Completion of stored episodes (paper fig. 3)")
  media["fig3"] = path
  clips = {"denoise_original": _grid(examples["denoise"][0][0]),
           "denoise_cue": _grid(examples["denoise"][1][0, 0]),
           "denoise_output": _grid(examples["denoise"][1][-1, 0]),
           "complete_original": _grid(target[0]),
           "complete_cue": np.where(steps[:, None], np.nan, _grid(target[0])),
           "complete_output": _grid(iterates[-1, 0])}
  continuation = _continuation_example(config, params, test_pool, stored, beta)
  if continuation is None:
    logging.warning("No rest-free 4-bar test passage: figure 4 skipped.")
  else:
    original, continued = continuation
    given = _grid(original).copy()
    given[32:] = np.nan
    path = os.path.join(workdir, "fig4_continue.png")
    figures.save_rows(path, [("original, 4 bars", _grid(original), None),
                             ("given: 2 bars", given, np.arange(64) >= 32),
                             ("output: 4 bars", _grid(continued), np.arange(64) >= 32)],
                      "Two bars given, four bars out (paper fig. 4)")
    media["fig4"] = path
    clips.update(continue_original=_grid(original), continue_given=given[:32],
                 continue_output=_grid(continued))

  audio_dir = os.path.join(workdir, "audio")
  os.makedirs(audio_dir, exist_ok=True)
  for name, grid in clips.items():
    midi = os.path.join(audio_dir, f"{name}.mid")
    music_io.write_midi(grid, midi)
    synth = music_io.write_wav(grid, os.path.join(audio_dir, f"{name}.wav"))
    media[name] = midi
  media["synth"] = synth
  return media


def unseen_validation_episodes(config, pools):
  """Validation episodes [M, T, C] not stored, beside the ELBO's validation set, for choosing
  inverse temperatures."""
  m, t, s = config.eval.num_memories, config.episodes_per_memory, config.data.episode_steps
  return np.asarray(episodes.evaluation_set(pools["validation"], config.eval.seed + 101, m, t, s))


def baseline_results(config, train_windows, valid, stored, novel, tasks):
  """report["baselines"] on the DKM's episodes and masks; Hopfield's beta chosen on the
  validation memories `valid` = (stored, unseen), half masked."""
  context = baselines.Context(train_windows)
  valid_stored, valid_novel = valid
  half = evaluate.observation_mask("half", len(valid_stored), config.data.episode_steps, None)
  context.beta, beta_scores = baselines.choose_beta(valid_stored, valid_novel, half, context)
  results = baselines.evaluate_baselines(stored, novel, tasks, context)
  settings = {"modern_hopfield_beta": context.beta,
              "modern_hopfield_beta_valid_exact": {str(b): v for b, v in beta_scores.items()},
              "num_train_windows": int(context.train_windows.shape[0])}
  return results, settings


def capacity_plans(config, params, test_pool, train_windows):
  """({"capacity_curves" (any test episodes), "capacity_curves_same_chorale": capacity.Plan},
  {the same names: the stored sets {T: [M, T, C]}})."""
  s = config.data.episode_steps
  params_by_rows, configs_by_rows = {}, {}
  for rows in config.eval.capacity_rows:
    model_config = config.model.copy_and_resolve_references()
    model_config.num_rows = rows
    configs_by_rows[rows] = config_checks.freeze(model_config)
    params_by_rows[rows] = params if rows == config.model.num_rows else model.init_params(
        jax.random.PRNGKey(config.seed), model_config, 4 * s, train_windows)
  seed = config.eval.seed + 500
  sets = {"capacity_curves": capacity.independent_sets(test_pool, seed, s,
                                                       config.eval.capacity_sizes),
          "capacity_curves_same_chorale": capacity.same_chorale_sets(
              test_pool, seed, s, [t for t in config.eval.capacity_sizes if t <= 128])}
  # The trained memory on the independent sets (the storage frontier's) is read at every
  # precision; the untrained K and the same-chorale sets at float32 only, which halves the
  # capacity curves' cost.
  precisions = {"capacity_curves": {config.model.num_rows: storage.PRECISIONS}}
  return {name: capacity.plan(params_by_rows, configs_by_rows, by_size,
                              config.eval.denoise_noise_std, seed, precisions.get(name))
          for name, by_size in sets.items()}, sets


def storage_sections(curves, stored_sets, extra_methods=None):
  """report["storage"], ["frontier"] and ["budget"] (`frontier.sections`) of the capacity curves,
  the lists' bytes measured on the same stored sets {T: [M, T, C]}."""
  list_bytes = {}
  for size, stored in stored_sets.items():
    pitches = episodes.to_pitches(stored).reshape(stored.shape[:2] + (-1, 4))
    list_bytes[int(size)] = storage.mean_list_bytes(pitches)
  num_cols = next(iter(stored_sets.values())).shape[-1]
  return frontier.sections(curves, list_bytes, num_cols, extra_methods)


def config_summary(config, data_source):
  model_config = config.model
  return {"prior_cov": model_config.prior_cov, "read": model_config.read_method,
          "sigma_xi": model_config.obs_noise_std, "num_rows": model_config.num_rows,
          "write_addresses": model_config.write_addresses,
          "sequential_write": model_config.sequential_write,
          "read_address": model_config.read_address, "data_source": data_source.line(),
          "split": "test", "episodes_per_memory": config.episodes_per_memory,
          "num_memories": config.eval.num_memories,
          "num_cols": 4 * config.data.episode_steps,
          "memory_precision": model_config.get("memory_precision", "float32"),
          "memory_bytes": storage.matrix_bytes(model_config.num_rows, 4 * config.data.episode_steps,
                                               model_config.get("memory_precision", "float32"))}


def write_report(config, workdir, trained, heartbeat=lambda what: None):
  """Evaluates a trained memory (`train.TrainedMemory`; memories split over its mesh, every
  process takes part) and writes report.json, REPORT.md, figures and audio (process 0 only).
  The stored episodes are the ELBO's own evaluation sets. `heartbeat(stage)` is called after
  each stage (see watchdog.py)."""
  start = time.time()
  params, pools, mesh = trained.state["params"], trained.pools, trained.mesh
  elbo, train_seconds, data_source = (trained.elbo_bits_per_dim, trained.train_seconds,
                                      trained.data_source)
  stored = np.asarray(trained.eval_sets["test"])
  novel, capacity_sets = novel_and_capacity_episodes(config, pools["test"])
  plans, capacity_stored, compiled = {}, {}, None
  if jax.process_index() == 0:  # baselines, capacity curves, figures: process 0 only
    host_pools = jax.device_get(pools)
    train_windows = episodes.pool_windows(host_pools["train"], config.data.episode_steps)
    if config.eval.capacity_rows:
      # The capacity curves' ~50 programs compile on spare cores while the reads and baselines
      # run (their betas are arguments, chosen on the way).
      plans, capacity_stored = capacity_plans(config, params, host_pools["test"], train_windows)
      compiled = compile_ahead.compile_in_background(capacity.programs(*plans.values()))
  tasks = evaluate.make_tasks(config, stored)
  valid = (np.asarray(trained.eval_sets["validation"]), unseen_validation_episodes(config, pools))
  beta, beta_scores = config.model.attention_beta, None
  if not beta:
    beta, beta_scores = evaluate.choose_attention_beta(params, config, *valid, mesh)
    heartbeat("report: attention beta")
  stage_seconds = {"attention_beta": time.time() - start}
  results, examples = evaluate.evaluate(params, stored, novel, tasks, config, capacity_sets, mesh,
                                        heartbeat=heartbeat, beta=beta)
  stage_seconds["reads"] = time.time() - start - sum(stage_seconds.values())
  if jax.process_index() != 0:
    return None
  baseline_report, baseline_settings = baseline_results(config, train_windows, valid, stored,
                                                        novel, tasks)
  heartbeat("report: baselines")
  stage_seconds["baselines"] = time.time() - start - sum(stage_seconds.values())
  capacity_report = {}
  if plans:
    compiled.result()
    capacity_report = {name: capacity.curves(plan, beta,
                                             baseline_settings["modern_hopfield_beta"],
                                             heartbeat)
                       for name, plan in plans.items()}
    capacity_report.update(storage_sections(capacity_report["capacity_curves"],
                                            capacity_stored["capacity_curves"]))
  stage_seconds["capacity"] = time.time() - start - sum(stage_seconds.values())
  train_seconds = recorded_train_seconds(workdir, train_seconds)
  # Host copies: the figures' reads run on this process alone.
  host_params = jax.device_get(params)
  media = write_media(workdir, config, host_params, host_pools["test"], stored, examples, beta)
  heartbeat("report: figures and audio")
  if capacity_report:
    media["capacity"] = os.path.join(workdir, "capacity.png")
    figures.save_capacity(media["capacity"], [
        ("any test episodes", capacity_report["capacity_curves"]),
        ("episodes of one chorale", capacity_report["capacity_curves_same_chorale"])])
    media["frontier"] = os.path.join(workdir, "frontier.png")
    figures.save_frontier(media["frontier"], capacity_report["frontier"],
                          capacity_report["storage"])
  half = results["complete"]["half"][config.model.read_method]
  report = {"elbo_bits_per_dim": elbo, **results, "baselines": baseline_report,
            "baseline_settings": baseline_settings,
            "attention": {"beta": beta, "top_k": config.model.attention_top_k,
                          "beta_valid_exact": (None if beta_scores is None else
                                               {str(b): v for b, v in beta_scores.items()})},
            "memory_use": {
                "kl_memory_per_dim": elbo["test"].get("kl_memory_per_dim"),
                "half_exact_stored_minus_unseen": (half["recall"]["acc_exact"][-1]
                                                   - half["novel"]["acc_exact"][-1])},
            **capacity_report,
            "config_summary": config_summary(config, data_source),
            "data_provenance": data_source.record(),
            "timing": {"train_seconds": train_seconds, "eval_seconds": time.time() - start,
                       "eval_stage_seconds": stage_seconds}}
  workdir_utils.write_report(workdir, report, markdown(report, media, workdir, config))
  logging.info("Report written to %s (evaluation took %.1fs: %s)",
               os.path.join(workdir, "REPORT.md"), report["timing"]["eval_seconds"],
               ", ".join(f"{k} {v:.1f}s" for k, v in stage_seconds.items()))
  return report


def _rel(path, workdir):
  return os.path.relpath(path, workdir)


def _ex2(metrics, index=-1):
  """'exact / within a whole step' of a DKM metric dict (lists) or a baseline's (floats)."""
  pick = lambda v: v[index] if isinstance(v, list) else v
  return f"{fmt.pct(pick(metrics['acc_exact']))} / {fmt.pct(pick(metrics['acc_2']))}"


def claims_table(report, config):
  """Rows (claim, paper, ours, baselines, verdict) of the paper's claims and the targets that
  make a memory a memory (stored beats unseen and the trivial baselines)."""
  read = config.model.read_method
  iters = config.eval.num_iters
  elbo = report["elbo_bits_per_dim"]["test"]
  den = report["denoise"]
  comp, base = report["complete"], report["baselines"]
  half, tq = comp["half"][read], comp["three_quarters"][read]
  den_base = base["denoise"]
  exact = den["acc_exact"]
  no_decay = exact[iters] >= exact[1] - 0.01
  converged = abs(exact[min(3, iters)] - exact[iters]) < 0.01
  stored_minus_unseen = report["memory_use"]["half_exact_stored_minus_unseen"]
  hold = base["half"]["hold_last_chord"]
  rows = [
      ("test negative conditional ELBO, bits per step per voice (4.2)", "0.76 +- 0.002",
       f"{elbo['mean']:.3f} +- {elbo['stderr']:.3f}", "-",
       fmt.held(abs(elbo["mean"] - 0.76) <= 0.1) + " (within 0.1)"),
      ("denoising converges after about 3 iterations (4.3)", "yes",
       "exact " + ", ".join(f"it {i}: {fmt.pct(exact[i])}" for i in (0, 1, 3, iters)),
       f"median filter {fmt.pct(den_base['median_filter']['acc_exact'])}",
       fmt.held(no_decay and converged) + " (no decay: it 10 >= it 1 - 1 point; it 3 within 1 "
       "point of it 10)"),
      ("denoised output almost the original (4.3)", "yes", _ex2(den),
       f"cue {_ex2(den_base['cue'])}; nearest stored {_ex2(den_base['nearest_stored'])}",
       fmt.held(den["acc_exact"][-1] >= 0.9)),
      ("half masked: notes off by at most a whole step (4.4)", "mostly",
       f"stored {_ex2(half['recall'])}; unseen {_ex2(half['novel'])}",
       f"hold last chord {_ex2(hold['recall'])}; nearest stored "
       f"{_ex2(base['half']['nearest_stored']['recall'])}",
       fmt.held(half["recall"]["acc_2"][-1] > 0.5)),
      ("the memory remembers: stored beats holding the last chord and unseen by >= 20 points",
       "(perfect recall, 5)",
       f"stored - unseen {100 * stored_minus_unseen:+.1f} points; memory KL "
       f"{report['memory_use']['kl_memory_per_dim']:.3g} nats/dim",
       f"hold last chord {fmt.pct(hold['recall']['acc_exact'])}",
       fmt.held(stored_minus_unseen >= 0.2
             and half["recall"]["acc_exact"][-1] > hold["recall"]["acc_exact"])),
      ("three quarters masked: no longer similar (4.4)", "yes",
       f"stored {_ex2(tq['recall'])}",
       f"hold last chord {_ex2(base['three_quarters']['hold_last_chord']['recall'])}",
       fmt.held(tq["recall"]["acc_exact"][-1] < half["recall"]["acc_exact"][-1])),
      ("unmasked (original DKM) read fails at completion (4.4)", "yes",
       f"half, stored: unmasked {_ex2(comp['half']['unmasked']['recall'])} vs masked "
       f"{_ex2(half['recall'])}", "-",
       fmt.held(comp["half"]["unmasked"]["recall"]["acc_exact"][-1]
             < half["recall"]["acc_exact"][-1])),
      ("QR (lstsq) better than Cholesky for completion (3.1)", "yes",
       f"half, stored: lstsq {_ex2(comp['half']['lstsq']['recall'])}, dm_cholesky "
       f"{_ex2(comp['half']['dm_cholesky']['recall'])}", "-",
       fmt.held(comp["half"]["lstsq"]["recall"]["acc_exact"][-1]
             > comp["half"]["dm_cholesky"]["recall"]["acc_exact"][-1])),
  ]
  if "capacity" in report:
    cap = report["capacity"]
    rows.append(("capacity: no more than 32 episodes (5)", "-",
                 "half, stored, exact: " + ", ".join(f"T={t}: {fmt.pct(v['acc_exact'])}"
                                                     for t, v in cap.items()), "-", "-"))
  budget = report.get("budget", {}).get("16384")
  if budget and "dkm_lstsq" in budget:
    largest = lambda family: budget.get(family, {}).get("largest_t", 0)
    memory = max(largest("dkm_lstsq"), largest("dkm_attention"))
    rows.append((
        "beyond the paper: in 16 KB (the paper's memory's bytes) the memory holds more episodes "
        "than a list", "-",
        f"largest T recalled >= 90% (half, stored): lstsq {largest('dkm_lstsq')}, attention "
        f"{largest('dkm_attention')}",
        f"list of pitch bytes {largest('list_pitch_bytes')}, lzma {largest('list_lzma')}",
        fmt.held(memory > largest("list_pitch_bytes"))))
  return rows


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
      "## The paper's claims, our measurements and the baselines", "",
      "| claim (paper section) | paper | ours | baselines | verdict |",
      "| --- | --- | --- | --- | --- |"]
  lines += ["| " + " | ".join(row) + " |" for row in claims_table(report, config)]
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
    lines.append(f"| {i} | " + " | ".join(_ex2(m, i) for m in report["denoise_by_read"].values())
                 + " |")
  lines += ["", "| baseline | exact | <=1 | <=2 | MSE |", "| --- | --- | --- | --- | --- |"]
  for name, m in base["denoise"].items():
    lines.append(f"| {name} | {fmt.pct(m['acc_exact'])} | {fmt.pct(m['acc_1'])} | "
                 f"{fmt.pct(m['acc_2'])} "
                 f"| {m['mse']:.5f} |")
  if "capacity_curves" in report:
    lines += capacity_markdown(report, config)
    lines += storage_tables.markdown(report)
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
  lines += ["", f"Timing: training {train_s}, evaluation {timing['eval_seconds']:.1f}s.", ""]
  return "\n".join(lines)
