"""report.json, REPORT.md, REPORT.html, a figure and listening files of a trained inpainting
network (`prior.train.TrainedPrior`).

Unseen episodes and masks are the DKM reports' own draws (`report.novel_episodes`,
`evaluate.make_tasks`); the baselines are scored on exactly the same entries.
"""

import os
import time
from typing import Any, Callable

from absl import logging
import jax
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import evaluate
from kanerva_music.prior import context_task
from kanerva_music.prior import evaluate as prior_evaluate
from kanerva_music.prior import harmonise
from kanerva_music.prior import masks
from kanerva_music.prior import memory_context
from kanerva_music.prior import report_text
from kanerva_music.prior import train as prior_train
from kanerva_music.reporting import figures
from kanerva_music.reporting import music_io
from kanerva_music.reporting import report as dkm_report
from music_runtime.files import report_staging
from music_runtime.files import workdir_utils

LISTENING_STEPS = 128  # 8 bars of a test chorale's melody to harmonise


def config_summary(config: ConfigDict, trained: prior_train.TrainedPrior) -> dict:
  """report.json's `prior.config_summary`: the network's shape and its training run."""
  c = config.prior
  return {"network": c.network, "width": c.width, "depth": c.depth, "heads": c.heads,
          "num_parameters": prior_train.num_parameters(trained.params),
          "batch_size": config.batch_size, "num_train_steps": config.num_train_steps,
          "best_step": trained.best["step"], "data_source": trained.data_source.line(),
          "split": "test", "num_memories": config.eval.num_memories,
          "episodes_per_memory": config.episodes_per_memory}


def nll_by_split(config: ConfigDict, trained: prior_train.TrainedPrior) -> dict:
  """Mean NLL per hidden note on fixed training and validation episodes (`eval.split_nll_memories`
  x T of each) under the training masks (the gap says whether the network under- or over-fits)."""
  out = {}
  num_memories = config.eval.get("split_nll_memories", config.eval.num_memories)
  for split in ("train", "validation"):
    normalised = episodes.evaluation_set(trained.pools[split], config.eval.seed + 3,
                                         num_memories, config.episodes_per_memory,
                                         config.data.episode_steps)
    notes = prior_evaluate.as_classes(np.asarray(normalised), config.data.episode_steps)
    mask = masks.fixed_training_masks(config.eval.seed + 7, notes.shape,
                                      tuple(config.prior.mask_mix))
    out[split] = prior_train.validation_nll(trained.net, trained.params, (notes, mask))
  return out


def listening_piece(test_pool: episodes.EpisodePool, num_steps: int,
                    episode_steps: int) -> np.ndarray:
  """[num_steps, 4] MIDI pitches: the first stretch of a test chorale with no rest (windows
  of `episode_steps` starting at num_steps - episode_steps + 1 consecutive steps)."""
  pool = jax.device_get(test_pool)
  starts, offsets = np.asarray(pool.window_starts), np.asarray(pool.chorale_offsets)
  needed = num_steps - episode_steps + 1
  for p in range(len(offsets) - 1):
    chorale = starts[offsets[p]:offsets[p + 1]]
    breaks = np.flatnonzero(np.diff(chorale) != 1) + 1
    bounds = np.concatenate([[0], breaks, [len(chorale)]])
    for a, b in zip(bounds[:-1], bounds[1:]):
      if b - a >= needed:
        first = int(chorale[a])
        return episodes.to_pitches(np.asarray(pool.steps)[first:first + num_steps])
  raise ValueError(f"no test chorale has {num_steps} steps without a rest")


def write_media(workdir: str, config: ConfigDict, trained: prior_train.TrainedPrior) -> dict:
  """A test chorale's melody harmonised by each read beside Bach's own: a figure and MIDI/WAV."""
  bach = listening_piece(trained.pools["test"], LISTENING_STEPS, config.data.episode_steps)
  classes = (bach - episodes.PITCH_LOW).astype(np.int32)
  given = np.zeros_like(classes, np.float32)
  given[:, 0] = 1.0
  ev = config.eval
  fills = {read: harmonise.fill_piece(
      trained.net, trained.params, classes, given, read=read,
      rng=jax.random.PRNGKey(ev.seed + 17), num_steps=ev.gibbs_steps,
      min_share=ev.gibbs_min_share, temperature=ev.gibbs_temperature)
           for read in ("one_pass", "gibbs")}
  grids = {"melody": np.where(given != 0, bach, np.nan).astype(np.float64),
           "one_pass": (fills["one_pass"] + episodes.PITCH_LOW).astype(np.float64),
           "gibbs": (fills["gibbs"] + episodes.PITCH_LOW).astype(np.float64),
           "bach": bach.astype(np.float64)}
  agreement = {read: float(np.mean(fills[read][:, 1:] == classes[:, 1:]))
               for read in fills}
  media: dict[str, Any] = {"harmonisation": os.path.join(workdir, "prior_harmonisation.png")}
  figures.save_rows(media["harmonisation"], [
      ("the melody (soprano) given", grids["melody"], None),
      ("harmonised, one pass (argmax)", grids["one_pass"], None),
      ("harmonised, Gibbs sample", grids["gibbs"], None),
      ("Bach's own", grids["bach"], None)],
      "Inpainting network: a test chorale's melody harmonised (alto, tenor, bass filled)")
  audio_dir = os.path.join(workdir, "audio")
  os.makedirs(audio_dir, exist_ok=True)
  for name, grid in grids.items():
    path = os.path.join(audio_dir, f"prior_harmonise_{name}.mid")
    music_io.write_midi(grid, path)
    media["synth"] = music_io.write_wav(grid, path[:-4] + ".wav")
    media[name] = path
  media["agreement"] = agreement
  return media


def write_report(config: ConfigDict, workdir: str, trained: prior_train.TrainedPrior,
                 heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """Evaluates a trained network and writes report.json, REPORT.md, REPORT.html and media."""
  start = time.time()
  stage_seconds: dict[str, float] = {}

  def timed(name):
    stage_seconds[name] = time.time() - start - sum(stage_seconds.values())

  pools = jax.device_get(trained.pools)
  s = config.data.episode_steps
  novel_norm = dkm_report.novel_episodes(config, pools["test"])
  tasks = evaluate.make_tasks(config, np.zeros_like(novel_norm))
  names = tuple(config.eval.prior_masks)
  flat_masks = {name: tasks["masks"][name] for name in names}
  note_masks = {name: m.reshape(len(m), s, 4) for name, m in flat_masks.items()}
  novel = prior_evaluate.as_classes(novel_norm, s)
  complete = prior_evaluate.completion(trained.net, trained.params, novel, note_masks,
                                       config.eval, heartbeat)
  timed("complete")
  context = baselines.Context(episodes.pool_windows(pools["train"], s))
  baseline_report = prior_evaluate.baseline_section(novel_norm, flat_masks, context)
  timed("baselines")
  code = prior_evaluate.code_length_section(trained.net, trained.params,
                                            novel.reshape((-1,) + novel.shape[-2:]),
                                            config.eval)
  heartbeat("report: prior code length")
  timed("code_length")
  memory_report = {}
  if memory_context.MemoryConfig.of(config.prior).num_rows:
    task = context_task.context_section(trained.net, trained.params,
                                        memory_context.chorale_grid(pools["test"]), config)
    memory_report = {"context": task["context"], "stored": task["stored"],
                     "context_windows": task["windows"],
                     "context_mean_stored": task["mean_stored_windows"],
                     "context_memory_rows": task["memory_rows"]}
    heartbeat("report: prior context task")
    timed("context")
  splits = nll_by_split(config, trained)
  timed("nll_by_split")
  with report_staging.staged(workdir) as stage:
    media = write_media(stage.folder, config, trained)
    timed("media")
    report = {
        "prior": {"complete": complete, "code_length": code, "nll_by_split": splits,
                  "best": trained.best, "harmonisation_agreement": media.pop("agreement"),
                  "config_summary": config_summary(config, trained), **memory_report},
        "baselines": baseline_report,
        "data_provenance": trained.data_source.record(),
        "timing": {"train_seconds": dkm_report.recorded_train_seconds(workdir,
                                                                     trained.train_seconds),
                   "eval_seconds": time.time() - start, "eval_stage_seconds": stage_seconds}}
    workdir_utils.write_report(stage.folder, report, report_text.markdown(
        report, stage.final(media), workdir, config))
  logging.info("Report written to %s (evaluation took %.1fs: %s)",
               os.path.join(workdir, "REPORT.md"), report["timing"]["eval_seconds"],
               ", ".join(f"{k} {v:.1f}s" for k, v in stage_seconds.items()))
  return report
