"""The codec DKM measured: completion by each read, masked-note NLL, denoising, capacity.

Memories of T test episodes are written from their codes; every read is scored on the masked
notes (denoising: on every note), with masks and noisy cues made as the linear DKM's report makes
them (`kanerva_music.evaluation.evaluate.make_tasks`): exact pitch, within 1 and 2 semitones,
and the negative log-likelihood of the true notes in nats per note under the final read's
categorical distribution.
"""

import functools
from typing import TYPE_CHECKING, Callable, Mapping

import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.codec import objective
from kanerva_music.codec import reads
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import storage
from kanerva_music.training import config_checks
from music_runtime.running import compile_ahead

if TYPE_CHECKING:
  from kanerva_music.codec.train import TrainedCodec

READS = ("encoder", "attractor", "optimised", "memory_off", "autoencoder")
METRICS = ("acc_exact", "acc_1", "acc_2", "nll")


def note_masks(masks: np.ndarray, episode_steps: int) -> np.ndarray:
  """[M, C] time-major masks (`evaluate.observation_mask`) -> [M, S, 4]."""
  return np.asarray(masks, np.float32).reshape(len(masks), episode_steps, 4)


def _write_mean(codec, params, stored, model_config, precision):
  """The posterior mean of a memory of stored [T, S, 4], kept at `precision`."""
  written = objective.write(codec, params, stored, model_config, None)
  return storage.quantize(written.posterior.mean, precision)


@functools.partial(jax.jit, static_argnames=("codec", "model_config", "read", "num_iters",
                                             "method", "precision", "learning_rate"))
def _complete(params, stored, queries, masks, from_prior, *, codec, model_config, read, num_iters,
              method, precision="float32", learning_rate=0.0):
  """Metric sums of reading queries [M, T, S, 4] under masks [M, S, 4] from memories of stored
  [M, T, S, 4], one memory at a time; with from_prior (a traced bool, so that the memory-off read
  shares the encoder read's program) from the prior mean R0 instead."""
  def one(args):
    stored_m, queries_m, mask_m = args
    mask = jnp.broadcast_to(mask_m, queries_m.shape)
    mean = jnp.where(from_prior, params["prior_mean"],
                     _write_mean(codec, params, stored_m, model_config, precision))
    if read == "autoencoder":
      result = reads.autoencoder_read(codec, params, queries_m, mask)
    elif read == "optimised":
      result = reads.optimised_read(codec, params, mean, queries_m, mask, model_config, method,
                                    num_iters, learning_rate)
    else:
      result = reads.encoder_read(codec, params, mean, queries_m, mask, model_config, method,
                                  num_iters)
    return pitch_metrics.categorical_sums(queries_m, result.predictions, result.logits,
                                          mask == 0)

  sums = jax.lax.map(one, (stored, queries, masks))
  return jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), sums)


@functools.partial(jax.jit, static_argnames=("codec", "model_config", "num_iters", "method"))
def _denoise(params, stored, noisy, *, codec, model_config, num_iters, method):
  def one(args):
    stored_m, noisy_m = args
    mean = _write_mean(codec, params, stored_m, model_config, "float32")
    result = reads.denoise_read(codec, params, mean, noisy_m, model_config, method, num_iters)
    return pitch_metrics.categorical_sums(stored_m, result.predictions, result.logits,
                                          jnp.ones((), bool))

  sums = jax.lax.map(one, (stored, noisy))
  return jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), sums)


def completion_calls(trained: "TrainedCodec", config: ConfigDict, stored: np.ndarray,
                     novel: np.ndarray, masks: Mapping[str, np.ndarray]) -> dict:
  """{(mask, read, query): compile_ahead.Call} of every completion the report scores."""
  ev, codec, params = config.eval, trained.codec, trained.state["params"]
  frozen = dict(codec=codec, model_config=_frozen(config), method=config.codec.read_method)
  calls = {}
  for mask_name, mask in masks.items():
    for read in READS:
      if read == "optimised" and mask_name not in ev.optimised_read_masks:
        continue
      iters = {"optimised": ev.optimised_read_steps, "attractor": ev.num_iters}.get(read, 1)
      count = ev.optimised_read_memories if read == "optimised" else len(stored)
      extra = ({"learning_rate": ev.optimised_read_learning_rate} if read == "optimised"
               else {})
      program = "encoder" if read == "memory_off" else read
      for query, x in (("recall", stored), ("novel", novel)):
        calls[mask_name, read, query] = compile_ahead.call(
            _complete, params, jnp.asarray(stored[:count]), jnp.asarray(x[:count]),
            jnp.asarray(mask[:count]), jnp.asarray(read == "memory_off"), read=program,
            num_iters=iters, **frozen, **extra)
  return calls


def _frozen(config):
  return config_checks.freeze(config.model)


def complete_section(trained: "TrainedCodec", config: ConfigDict, stored: np.ndarray,
                     novel: np.ndarray, masks: Mapping[str, np.ndarray],
                     heartbeat: Callable[[str], None] = lambda what: None) -> tuple[dict, dict]:
  """report["codec"]["complete"]: {mask: {read: {recall, novel}: {acc_exact [I], acc_1 [I],
  acc_2 [I], nll}}} and report["codec"]["nll_nats_per_note"]: half-masked NLL of the masked
  notes of stored and unseen episodes, and of stored ones with the memory off."""
  calls = completion_calls(trained, config, stored, novel, masks)
  compile_ahead.compile_all(list(calls.values()))
  out: dict[str, dict] = {}
  for (mask_name, read, query), call in calls.items():
    out.setdefault(mask_name, {}).setdefault(read, {})[query] = (
        pitch_metrics.categorical_means(call()))
    heartbeat(f"report: codec {read} read")
  half = out["half"]
  nll = {"stored": half["encoder"]["recall"]["nll"], "unseen": half["encoder"]["novel"]["nll"],
         "memory_off": half["memory_off"]["recall"]["nll"]}
  return out, nll


def denoise_section(trained: "TrainedCodec", config: ConfigDict, stored: np.ndarray,
                    noisy: np.ndarray) -> dict:
  """report["codec"]["denoise"]: metrics per iteration on every note of noisy stored cues."""
  sums = _denoise(trained.state["params"], jnp.asarray(stored), jnp.asarray(noisy),
                  codec=trained.codec, model_config=_frozen(config),
                  num_iters=config.eval.num_iters, method=config.codec.read_method)
  return pitch_metrics.categorical_means(sums)


@functools.partial(jax.jit, static_argnames=("codec", "model_config", "method"))
def _capacity_read(params, stored, masks, *, codec, model_config, method):
  """Metric sums [precision, ...] of one encoder read of memories of stored [M, T, S, 4] under
  masks [M, S, 4], each memory's posterior mean kept at every precision of
  `storage.PRECISIONS` (one write, one traced read mapped over the precisions)."""
  def one(args):
    stored_m, mask_m = args
    mask = jnp.broadcast_to(mask_m, stored_m.shape)
    mean = objective.write(codec, params, stored_m, model_config, None).posterior.mean
    kept = jnp.stack([storage.quantize(mean, p) for p in storage.PRECISIONS])

    def read(mean_p):
      result = reads.encoder_read(codec, params, mean_p, stored_m, mask, model_config, method, 1)
      return pitch_metrics.categorical_sums(stored_m, result.predictions, result.logits,
                                            mask == 0)

    return jax.lax.map(read, kept)

  sums = jax.lax.map(one, (stored, masks))
  return jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), sums)


def capacity_section(trained: "TrainedCodec", config: ConfigDict,
                     sets: Mapping[int, np.ndarray], half_masks: Mapping[int, np.ndarray],
                     heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """report["codec"]["capacity"]: {precision: {T: half-masked stored exact}} of the trained
  memory's K rows kept at each precision, one encoder read. sets: {T: [M, T, S, 4]}."""
  calls = {t: compile_ahead.call(_capacity_read, trained.state["params"], jnp.asarray(s),
                                 jnp.asarray(half_masks[t]), codec=trained.codec,
                                 model_config=_frozen(config), method=config.codec.read_method)
           for t, s in sets.items()}
  compile_ahead.compile_all(list(calls.values()))
  out: dict[str, dict] = {p: {} for p in storage.PRECISIONS}
  for t, call in calls.items():
    sums = call()
    for i, precision in enumerate(storage.PRECISIONS):
      out[precision][str(t)] = float(sums["acc_exact"][i, 0]) / float(sums["count"][i])
    heartbeat("report: codec capacity")
  return out


def frontier_methods(capacity: Mapping, num_rows: int, code_size: int) -> dict:
  """The codec's capacity as `frontier` methods: a memory of K x C' at each precision."""
  return {f"codec_K{num_rows}_{precision}": {
      "family": "codec_dkm", "rows": num_rows, "precision": precision,
      "full_rank": storage.full_rank(num_rows, code_size),
      "bytes": {t: storage.memory_bytes(num_rows, code_size, precision, int(t)) for t in by_t},
      "recall": dict(by_t)}
          for precision, by_t in capacity.items()}


@functools.partial(jax.jit, static_argnames=("codec", "model_config"))
def _codes_and_mean(params, stored, *, codec, model_config):
  codes = objective.encode(codec, params, stored, jnp.ones(stored.shape, jnp.float32))
  return codes, _write_mean(codec, params, stored, model_config, "float32")


def memory_rank(trained: "TrainedCodec", config: ConfigDict, stored: np.ndarray) -> dict:
  """Numerical rank of the written code matrix [T, C'] and of the posterior mean [K, C'] of the
  first memory: the rank bound on what a K-row linear read can hold."""
  codes, mean = _codes_and_mean(trained.state["params"], jnp.asarray(stored[0]),
                                codec=trained.codec, model_config=_frozen(config))
  rank = lambda a: int(np.linalg.matrix_rank(np.asarray(a, np.float64), tol=1e-3
                                             * float(np.abs(np.asarray(a)).max())))
  return {"codes": rank(codes), "posterior_mean": rank(mean),
          "rows": int(mean.shape[0]), "code_size": int(mean.shape[1])}
