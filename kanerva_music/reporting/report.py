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
from kanerva_music.reporting import listener_report
from kanerva_music.reporting import markdown as report_markdown
from kanerva_music.reporting import music_io
from music_runtime.files import atomic
from music_runtime.files import report_staging
from music_runtime.files import workdir_utils
from music_runtime.running import compile_ahead
from music_runtime.running import config_checks

TIMING_FILE = "timing.json"


def recorded_train_seconds(workdir: str, train_seconds: Optional[float]) -> Optional[float]:
  """This run's training time, recorded in the workdir's timing.json; an evaluation-only run
  (None) reads back the recorded one, if any."""
  timing_path = os.path.join(workdir, TIMING_FILE)
  if train_seconds is not None:
    atomic.write_json(timing_path, {"train_seconds": train_seconds})
  elif os.path.exists(timing_path):
    train_seconds = workdir_utils.read_json(timing_path, "timing record").get("train_seconds")
  return train_seconds


def novel_episodes(config, test_pool):
  """[M, T, C] unseen test episodes beside the stored ones (the ELBO's test set): a fixed,
  seeded draw from the test split."""
  m, t, s = config.eval.num_memories, config.episodes_per_memory, config.data.episode_steps
  return np.asarray(episodes.evaluation_set(test_pool, config.eval.seed + 100, m, t, s))


def novel_and_capacity_episodes(config, test_pool):
  """Novel and capacity sets beside the stored ones (the ELBO's test set): fixed, seeded draws
  from the test split, disjoint seeds."""
  m, t, s = config.eval.num_memories, config.episodes_per_memory, config.data.episode_steps
  seed = config.eval.seed
  novel = novel_episodes(config, test_pool)
  capacity = {size: np.asarray(episodes.evaluation_set(
      test_pool, seed + 200 + size, max(1, m * t // size), size, s))
              for size in config.eval.recall_sizes}
  return novel, capacity


def _grid(x):
  """Normalised flat episode(s) -> [steps, 4] MIDI pitch grid (rounded)."""
  return episodes.to_pitches(np.asarray(x)).reshape(-1, 4).astype(np.float64)


def _masked_steps(mask):
  return np.asarray(mask).reshape(-1, 4)[:, 0] == 0


def _continuation_example(config, params, test_pool, stored, beta):
  """The paper's figure 4: a test passage of 4 bars; 2 bars given, 2 more completed from memory."""
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


def storage_sections(curves, stored_sets):
  """report["storage"], ["frontier"] and ["budget"] (`frontier.sections`) of the capacity curves,
  the lists' bytes measured on the same stored sets {T: [M, T, C]}."""
  list_bytes = {}
  for size, stored in stored_sets.items():
    pitches = episodes.to_pitches(stored).reshape(stored.shape[:2] + (-1, 4))
    list_bytes[int(size)] = storage.mean_list_bytes(pitches)
  num_cols = next(iter(stored_sets.values())).shape[-1]
  return frontier.sections(curves, list_bytes, num_cols)


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
  listener_section = {}
  if listener_report.enabled(config):
    listener_section = listener_report.section(config, params, host_pools["test"], stored, novel,
                                               beta, heartbeat)
    stage_seconds["listener"] = time.time() - start - sum(stage_seconds.values())
  train_seconds = recorded_train_seconds(workdir, train_seconds)
  with report_staging.staged(workdir) as stage:
    # Host copies: the figures' reads run on this process alone.
    host_params = jax.device_get(params)
    media = write_media(stage.folder, config, host_params, host_pools["test"], stored, examples,
                        beta)
    if listener_section:
      media.update(listener_report.write_media(stage.folder, config, host_params,
                                               host_pools["test"], listener_section))
    heartbeat("report: figures and audio")
    if capacity_report:
      media["capacity"] = os.path.join(stage.folder, "capacity.png")
      figures.save_capacity(media["capacity"], [
          ("any test episodes", capacity_report["capacity_curves"]),
          ("episodes of one chorale", capacity_report["capacity_curves_same_chorale"])])
      media["frontier"] = os.path.join(stage.folder, "frontier.png")
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
              **({"listener": listener_section} if listener_section else {}),
              "config_summary": config_summary(config, data_source),
              "data_provenance": data_source.record(),
              "timing": {"train_seconds": train_seconds, "eval_seconds": time.time() - start,
                         "eval_stage_seconds": stage_seconds}}
    workdir_utils.write_report(stage.folder, report, report_markdown.markdown(
        report, stage.final(media), workdir, config))
  logging.info("Report written to %s (evaluation took %.1fs: %s)",
               os.path.join(workdir, "REPORT.md"), report["timing"]["eval_seconds"],
               ", ".join(f"{k} {v:.1f}s" for k, v in stage_seconds.items()))
  return report
