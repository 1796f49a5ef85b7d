"""report.json, REPORT.md, figures and listening files of a trained codec DKM.

The episodes, masks and noisy cues are drawn as the linear DKM report draws them (same seeds and
code), and the baselines are scored on them here; storage and recall against bytes are measured on
capacity sets drawn the same way (`report.storage_sections`).
"""

import functools
import os
import time
from typing import TYPE_CHECKING, Callable, Mapping

from absl import logging
import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.codec import evaluate as codec_evaluate
from kanerva_music.codec import objective
from kanerva_music.codec import reads
from kanerva_music.codec import report_text
from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import capacity
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import storage
from kanerva_music.reporting import figures
from kanerva_music.reporting import music_io
from kanerva_music.reporting import report as dkm_report
from music_runtime.files import provenance
from music_runtime.files import report_staging
from music_runtime.files import workdir_utils
from music_runtime.running import config_checks

if TYPE_CHECKING:
  from kanerva_music.codec.train import TrainedCodec

NUM_EXAMPLES = 4


def _classes(config, x):
  return np.asarray(pitch_classes.from_normalised(jnp.asarray(x), config.data.episode_steps))


def _pitch_grid(classes):
  return np.asarray(classes, np.float64) + episodes.PITCH_LOW


def config_summary(config: ConfigDict, data_source: provenance.DataSource,
                   codec: objective.Codec, num_parameters: int) -> dict:
  """report.json's `codec.config_summary`: the networks' shapes, the memory and its training."""
  c = config.codec
  return {"encoder": c.encoder, "code_size": codec.code_size, "block_steps": c.block_steps,
          "block_features": c.block_features, "num_rows": config.model.num_rows,
          "sigma_xi": config.model.obs_noise_std, "read_method": c.read_method,
          "kl_weight": c.kl_weight, "memory_precision": config.model.memory_precision,
          "memory_bytes": storage.matrix_bytes(config.model.num_rows, codec.code_size,
                                               config.model.memory_precision),
          "num_network_parameters": num_parameters,
          "data_source": data_source.line(), "split": "test",
          "episodes_per_memory": config.episodes_per_memory,
          "num_memories": config.eval.num_memories}


@functools.partial(jax.jit, static_argnames=("codec", "model_config", "method"))
def _example_reads(params, stored, queries, mask, *, codec, model_config, method):
  """Encoder-read predictions [Q, S, 4] of queries under one mask from a memory of stored."""
  written = objective.write(codec, params, stored, model_config, None)
  mask = jnp.broadcast_to(mask, queries.shape)
  return reads.encoder_read(codec, params, written.posterior.mean, queries, mask, model_config,
                            method, 1).predictions[-1]


def _examples(trained, config, stored, novel, half):
  """Half-masked completions of memory 0's first stored and unseen episodes (encoder read)."""
  queries = np.concatenate([stored[0, :NUM_EXAMPLES], novel[0, :NUM_EXAMPLES]])
  predictions = np.asarray(_example_reads(
      trained.state["params"], jnp.asarray(stored[0]), jnp.asarray(queries),
      jnp.asarray(half[0]), codec=trained.codec, model_config=config_checks.freeze(config.model),
      method=config.codec.read_method))
  return {"recall": (queries[:NUM_EXAMPLES], predictions[:NUM_EXAMPLES]),
          "novel": (queries[NUM_EXAMPLES:], predictions[NUM_EXAMPLES:])}


def write_media(workdir: str, examples: Mapping[str, tuple], half: np.ndarray) -> dict[str, str]:
  """The completion figure and its listening files; returns {name: path}."""
  steps = np.asarray(half[0])[:, 0] == 0
  cells = []
  for query in ("recall", "novel"):
    originals, outputs = examples[query]
    for e in range(2):
      original = _pitch_grid(originals[e])
      cells.append([(original, None), (np.where(steps[:, None], np.nan, original), steps),
                    (_pitch_grid(outputs[e]), steps)])
  media = {"completion": os.path.join(workdir, "codec_complete.png")}
  figures.save_grid(media["completion"], cells, ["original", "second half masked", "completed"],
                    "Codec DKM: half-masked completion (rows 1-2 stored, 3-4 unseen)")
  audio_dir = os.path.join(workdir, "audio")
  os.makedirs(audio_dir, exist_ok=True)
  for query in ("recall", "novel"):
    originals, outputs = examples[query]
    clips = {"original": _pitch_grid(originals[0]),
             "cue": np.where(steps[:, None], np.nan, _pitch_grid(originals[0])),
             "output": _pitch_grid(outputs[0])}
    for kind, grid in clips.items():
      name = f"codec_{query}_{kind}"
      music_io.write_midi(grid, os.path.join(audio_dir, f"{name}.mid"))
      media["synth"] = music_io.write_wav(grid, os.path.join(audio_dir, f"{name}.wav"))
      media[name] = os.path.join(audio_dir, f"{name}.mid")
  return media


def capacity_sets(config: ConfigDict, test_pool: np.ndarray) -> dict[int, np.ndarray]:
  """{T: [M, T, C]} normalised capacity sets (the linear report's draw) for the codec's sizes."""
  return capacity.independent_sets(jax.device_get(test_pool), config.eval.seed + 500,
                                   config.data.episode_steps, config.eval.codec_capacity_sizes)


def write_report(config: ConfigDict, workdir: str, trained: "TrainedCodec",
                 heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """Evaluates a trained codec DKM (`codec_train.TrainedCodec`) and writes report.json,
  REPORT.md, the completion figure, the frontier figure and listening files."""
  start = time.time()
  stage_seconds = {}
  pools = jax.device_get(trained.pools)
  s = config.data.episode_steps
  stored_norm = np.asarray(trained.eval_sets["test"])
  novel_norm, _ = dkm_report.novel_and_capacity_episodes(config, pools["test"])
  stored, novel = _classes(config, stored_norm), _classes(config, novel_norm)
  tasks = evaluate.make_tasks(config, stored_norm)
  masks = {name: codec_evaluate.note_masks(tasks["masks"][name], s)
           for name in config.eval.codec_masks}
  complete, nll = codec_evaluate.complete_section(trained, config, stored, novel, masks,
                                                  heartbeat)
  stage_seconds["complete"] = time.time() - start
  noisy = _classes(config, tasks["denoise_cue"])
  denoise = codec_evaluate.denoise_section(trained, config, stored, noisy)
  stage_seconds["denoise"] = time.time() - start - sum(stage_seconds.values())
  train_windows = episodes.pool_windows(pools["train"], s)
  context = baselines.Context(train_windows, beta=1000.0)
  baseline_report = baselines.evaluate_baselines(stored_norm, novel_norm, tasks, context)
  stage_seconds["baselines"] = time.time() - start - sum(stage_seconds.values())
  sets = capacity_sets(config, pools["test"])
  half_masks = {t: codec_evaluate.note_masks(
      evaluate.observation_mask("half", len(x), s, None), s) for t, x in sets.items()}
  codec_capacity = codec_evaluate.capacity_section(
      trained, config, {t: _classes(config, x) for t, x in sets.items()}, half_masks, heartbeat)
  nearest = {str(t): {"half": {"acc_exact": baselines.score(
      "nearest_stored", x, x, evaluate.observation_mask("half", len(x), s, None), x,
      None)["acc_exact"]}} for t, x in sets.items()}
  curves = {"nearest_stored": {"all": nearest}}
  extra = codec_evaluate.frontier_methods(codec_capacity, config.model.num_rows,
                                          trained.codec.code_size)
  storage_report = dkm_report.storage_sections(curves, sets, extra)
  stage_seconds["capacity"] = time.time() - start - sum(stage_seconds.values())
  examples = _examples(trained, config, stored, novel, masks["half"])
  with report_staging.staged(workdir) as stage:
    media = write_media(stage.folder, examples, masks["half"])
    media["frontier"] = os.path.join(stage.folder, "frontier.png")
    figures.save_frontier(media["frontier"], storage_report["frontier"], storage_report["storage"])
    stage_seconds["media"] = time.time() - start - sum(stage_seconds.values())
    report = {
        "codec": {"complete": complete, "nll_nats_per_note": nll, "denoise": denoise,
                  "bits_per_note": trained.elbo["test"]["bits_per_note"],
                  "elbo": trained.elbo, "capacity": codec_capacity,
                  "rank": codec_evaluate.memory_rank(trained, config, stored),
                  "config_summary": config_summary(
                      config, trained.data_source, trained.codec,
                      sum(np.size(p) for name in ("encoder", "decoder")
                          for p in jax.tree_util.tree_leaves(trained.state["params"][name])))},
        "baselines": baseline_report, **storage_report,
        "data_provenance": trained.data_source.record(),
        "timing": {"train_seconds": dkm_report.recorded_train_seconds(workdir,
                                                                     trained.train_seconds),
                   "eval_seconds": time.time() - start,
                   "eval_stage_seconds": stage_seconds}}
    workdir_utils.write_report(stage.folder, report, report_text.markdown(
        report, stage.final(media), workdir, config))
  logging.info("Report written to %s (evaluation took %.1fs: %s)",
               os.path.join(workdir, "REPORT.md"), report["timing"]["eval_seconds"],
               ", ".join(f"{k} {v:.1f}s" for k, v in stage_seconds.items()))
  return report

