"""The inpainting network measured on unseen test episodes: completion by each read, the NLL of
the hidden notes, the baselines on the same entries, and code lengths beside lzma.

The episodes and masks are the DKM reports' own (`evaluate.make_tasks`, the unseen episodes of
`report.novel_episodes`), so every figure stands beside the linear DKM's rows.
"""

import functools
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.evaluation import baselines
from kanerva_music.evaluation import pitch_metrics
from kanerva_music.evaluation import storage
from kanerva_music.prior import code_length
from kanerva_music.prior import network
from kanerva_music.prior import reads

BASELINES = ("hold_last_chord", "nearest_train", "parallel_motion")


@functools.partial(jax.jit, static_argnames=("net", "read", "num_steps", "min_share",
                                             "temperature"))
def _complete_sums(params, notes, masks, rng, *, net, read, num_steps=0, min_share=0.05,
                   temperature=1.0):
  """`pitch_metrics.categorical_sums` of reading episodes notes [M, T, S, 4] under one mask
  [S, 4] per memory (masks [M, S, 4]), summed over the memories."""
  def one(args):
    x, m, key = args
    mask = jnp.broadcast_to(m, x.shape)
    if read == "gibbs":
      fill = reads.gibbs(net, params, x, mask, key, num_steps=num_steps, min_share=min_share,
                         temperature=temperature)
    else:
      fill = reads.one_pass(net, params, x, mask)
    return pitch_metrics.categorical_sums(x, fill.notes[None], fill.logits, mask == 0)

  keys = jax.random.split(rng, notes.shape[0])
  sums = jax.lax.map(one, (notes, masks, keys))
  return jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), sums)


def completion(net: network.InpaintingNet, params: dict, notes: np.ndarray,
               masks: Mapping[str, np.ndarray], eval_config: ConfigDict,
               heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """{mask: {read: {"novel": {acc_exact, acc_1, acc_2, nll_nats_per_note, count}}}} of unseen
  episodes notes [M, T, S, 4] under masks {name: [M, S, 4]}; Gibbs sampling on the first
  `eval_config.gibbs_memories` memories, under the masks `eval_config.gibbs_masks` (all if
  unset)."""
  out: dict[str, dict] = {}
  gibbs_memories = min(eval_config.gibbs_memories, len(notes))
  gibbs_masks = tuple(eval_config.get("gibbs_masks", tuple(masks)))
  for name, mask in masks.items():
    out[name] = {}
    for read in reads.READS:
      if read == "gibbs" and name not in gibbs_masks:
        continue
      count = gibbs_memories if read == "gibbs" else len(notes)
      options = dict(num_steps=eval_config.gibbs_steps, min_share=eval_config.gibbs_min_share,
                     temperature=eval_config.gibbs_temperature) if read == "gibbs" else {}
      sums = _complete_sums(params, jnp.asarray(notes[:count]), jnp.asarray(mask[:count]),
                            jax.random.PRNGKey(eval_config.seed + 11), net=net, read=read,
                            **options)
      means = pitch_metrics.categorical_means(sums)
      out[name][read] = {"novel": {"acc_exact": means["acc_exact"][-1],
                                   "acc_1": means["acc_1"][-1], "acc_2": means["acc_2"][-1],
                                   "nll_nats_per_note": means["nll"],
                                   "episodes": int(count * notes.shape[1])}}
      heartbeat(f"report: prior {read} read, {name}")
  return out


def baseline_section(novel: np.ndarray, masks: Mapping[str, np.ndarray],
                     context: baselines.Context) -> dict:
  """{mask: {baseline: {"novel": {acc_exact, ...}}}} on normalised unseen episodes [M, T, C]
  under the time-major masks {name: [M, C]} (`baselines.score`: the masked entries only)."""
  return {name: {b: {"novel": baselines.score(b, novel, novel, mask, novel, context)}
                 for b in BASELINES} for name, mask in masks.items()}


def code_length_section(net: network.InpaintingNet, params: dict, notes: np.ndarray,
                        eval_config: ConfigDict) -> dict:
  """Bits per note of `eval_config.code_length_episodes` unseen episodes notes [N, S, 4] along
  `code_length_orders` random orders (`code_length.chain_rule_bits`), beside one lzma stream of
  the same episodes' pitch bytes and the 8 bits of a byte per pitch."""
  count = min(eval_config.code_length_episodes, len(notes))
  chosen = notes[:count]
  orders = code_length.random_orders(np.random.default_rng(eval_config.seed + 13),
                                     eval_config.code_length_orders, chosen[0].size)
  bits = np.asarray(code_length.chain_rule_bits(params, jnp.asarray(chosen),
                                                jnp.asarray(orders), net=net,
                                                block=eval_config.code_length_block),
                    np.float64)
  per_note = bits / chosen[0].size  # [N, O]
  lzma_bytes = len(storage.lzma_compress(chosen + episodes.PITCH_LOW))
  return {"bits_per_note": float(per_note.mean()),
          "stderr": float(per_note.mean(axis=1).std(ddof=1) / np.sqrt(count)) if count > 1
          else None,
          "bits_per_note_by_order": [float(v) for v in per_note.mean(axis=0)],
          "lzma_bits_per_note": 8.0 * lzma_bytes / chosen.size,
          "byte_bits_per_note": 8.0, "episodes": int(count),
          "orders": int(eval_config.code_length_orders),
          "block": int(eval_config.code_length_block)}


def as_classes(normalised: np.ndarray, episode_steps: int) -> np.ndarray:
  """Normalised episodes [..., C] -> pitch classes [..., S, 4] (host int32)."""
  return pitch_classes.from_normalised(np.asarray(normalised), episode_steps)
