"""The codec DKM's objective: the DKM ELBO with a categorical likelihood, and completion.

Generative model (Wu et al. 2018; Rangasayee & Fan eq. 3 with a decoder): M ~ MN(R0, U0, I), w_t ~
N(0, sigma_p^2 I), x_t ~ prod_i Cat(x_ti | decoder(M^T w_t)). Inference: the encoder's codes z_t of
the T episodes are written into q(M) by the DKM's Kalman write, q(w_t) = N(mu_t, sigma_w^2 I) at the
write's addresses. So

  L_T = sum_t E_{q(w_t) q(M)} ln p(x_t | M^T w_t) - sum_t KL(q(w_t) || p(w_t)) - KL(q(M) || p(M))

is a lower bound on ln p(x_1..T) in nats, and -L_T / ln 2 is a lossless code length for the T
episodes (bits back); without the memory's KL it is the paper's conditional bound (the memory known
to both sides, Rangasayee & Fan section 4.2). Completion trains the read the report measures:
episodes stored in the memory and episodes not stored are read from masked cues, and the decoder's
negative log-likelihood of the masked notes is minimised. The training loss is the completion NLL
plus -L_T / (T S 4) with its two KL terms weighted by `kl_weight` (beta-VAE style: at 1 the memory's
KL empties the memory, as it does the linear DKM's at sigma_xi = 0.2; the report states L_T itself,
unweighted).
"""

import math
from typing import NamedTuple, Optional, cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from ml_collections import ConfigDict
import optax

from kanerva_music.codec import networks
from kanerva_music.memory import dkm
from kanerva_music.memory import model


class Codec(NamedTuple):
  """The codec's two networks and shapes (Flax modules are stateless: params live apart)."""
  encoder: networks.BlockEncoder
  decoder: networks.Decoder
  num_steps: int

  @property
  def code_size(self) -> int:
    """C', the code's length: blocks per episode times features per block."""
    return self.num_steps // self.encoder.block_steps * self.encoder.block_features


def make_codec(config: ConfigDict) -> Codec:
  """The networks of `config.codec` for episodes of `config.data.episode_steps` steps."""
  c = config.codec
  num_steps = config.data.episode_steps
  encoder = networks.BlockEncoder(kind=c.encoder, block_steps=c.block_steps,
                                  block_features=c.block_features, hidden=c.encoder_hidden,
                                  embed=c.embed, kwta_k=c.kwta_k)
  decoder = networks.Decoder(num_blocks=num_steps // c.block_steps, block_steps=c.block_steps,
                             hidden=c.decoder_hidden, embed=c.embed, width=c.decoder_width,
                             dropout=c.dropout)
  return Codec(encoder, decoder, num_steps)


def init_params(codec: Codec, rng: jax.Array, model_config: ConfigDict) -> dict:
  """{"encoder", "decoder"} network parameters and the memory's prior (`model.init_params` over
  codes of size C')."""
  rng_enc, rng_dec, rng_mem = jax.random.split(rng, 3)
  notes = jnp.zeros((1, codec.num_steps, networks.NUM_VOICES), jnp.int32)
  ones = jnp.ones(notes.shape, jnp.float32)
  params = model.init_params(rng_mem, model_config, codec.code_size)
  params["encoder"] = codec.encoder.init(rng_enc, notes, ones)["params"]
  params["decoder"] = codec.decoder.init(
      rng_dec, jnp.zeros((1, codec.code_size)), jnp.zeros((1,)), notes, ones)["params"]
  return params


def encode(codec: Codec, params: dict, notes: jax.Array, mask: jax.Array) -> jax.Array:
  """Codes z [..., C'] of episodes [..., S, 4] (observed where mask != 0): the encoder of
  Wu et al. 2018's codec DKM (the DKM writes codes, not notes)."""
  return cast(jax.Array, codec.encoder.apply({"params": params["encoder"]}, notes, mask))


class Read(NamedTuple):
  """A memory read: the read-out [..., C'] and its fit [...] (see `fit_of`)."""
  readout: jax.Array
  fit: jax.Array


_FIT_FLOOR = 1e-3  # residuals below this (about a tenth of sigma_xi, squared) count as exact


def fit_of(readout: jax.Array, cue_codes: jax.Array, cue_code_mask: jax.Array) -> jax.Array:
  """ln(mean squared residual of the read-out on the observed code entries + floor): how well
  the memory explains the cue (eq. 6's data term). With nothing observed the residual counts as
  1, the code's mean square: no evidence."""
  count = jnp.sum(cue_code_mask, axis=-1)
  residual = jnp.sum(cue_code_mask * (readout - cue_codes) ** 2, axis=-1)
  return jnp.log(jnp.where(count > 0, residual / jnp.maximum(count, 1.0), 1.0) + _FIT_FLOOR)


def trusted(readout: jax.Array) -> Read:
  """A read taken as the memory's own (the ELBO's reconstruction, the optimised read's
  objective): the fit of an exact read."""
  return Read(readout, jnp.full(readout.shape[:-1], math.log(_FIT_FLOOR), readout.dtype))


def decode(codec: Codec, params: dict, read: Read, notes: jax.Array, mask: jax.Array,
           rng: Optional[jax.Array] = None) -> jax.Array:
  """Logits [..., S, 4, 46] of a read given the cue (notes where mask != 0); with `rng`, in
  training mode (dropout)."""
  args = (read.readout, read.fit, notes, mask)
  if rng is None:
    return cast(jax.Array, codec.decoder.apply({"params": params["decoder"]}, *args))
  return cast(jax.Array, codec.decoder.apply({"params": params["decoder"]}, *args, True,
                                             rngs={"dropout": rng}))


def code_mask(codec: Codec, mask: jax.Array) -> jax.Array:
  """[..., S, 4] note mask -> [..., C'] code mask: a block's code entries are observed when
  every note of the block is."""
  block = codec.encoder.block_steps
  lead = mask.shape[:-2]
  observed = jnp.min(mask.reshape(lead + (-1, block * networks.NUM_VOICES)), axis=-1)
  return jnp.repeat(observed, codec.encoder.block_features, axis=-1)


def note_nll(logits: jax.Array, notes: jax.Array) -> jax.Array:
  """-ln p of each note [..., S, 4] under the categorical logits."""
  return optax.softmax_cross_entropy_with_integer_labels(logits, notes)


def masked_read(memory_mean: jax.Array, cue_codes: jax.Array, cue_code_mask: jax.Array,
                model_config: ConfigDict, method: str) -> Read:
  """The read-out R^T w [Q, C'] at the address solved from each cue's observed code entries
  (eq. 6 in code space) against `memory_mean` [K, C'], and its fit; a cue with no observed block
  reads 0."""
  w = dkm.solve_address(memory_mean, cue_codes, cue_code_mask,
                        method=method,
                        **model.solve_options(model_config))
  readout = w @ memory_mean
  return Read(readout, fit_of(readout, cue_codes, cue_code_mask))


def sample_readout(posterior: dkm.Memory, w: jax.Array, rng: jax.Array) -> jax.Array:
  """M^T w for M ~ q(M) = MN(R, U, I): per code entry N(R^T w, w^T U w), entries independent."""
  mean = w @ posterior.mean
  variance = jnp.einsum("...k,kl,...l->...", w, posterior.cov, w)
  std = jnp.sqrt(jnp.maximum(variance, 0.0))[..., None]
  return mean + std * jax.random.normal(rng, mean.shape, mean.dtype)


class ElboTerms(NamedTuple):
  log_likelihood: jax.Array  # sum_t E ln p(x_t | M^T w_t), one reparameterised sample
  kl_address: jax.Array      # sum_t KL(q(w_t) || p(w_t))
  kl_memory: jax.Array       # KL(q(M) || p(M))


def write(codec: Codec, params: dict, notes: jax.Array, model_config: ConfigDict,
          rng: Optional[jax.Array]) -> model.Written:
  """Encodes stored episodes [T, S, 4] and writes their codes from the prior (`model.store`)."""
  codes = encode(codec, params, notes, jnp.ones(notes.shape, jnp.float32))
  return model.store(params, codes, model_config, rng, method=model_config.write_solve_method)


def elbo_terms(codec: Codec, params: dict, notes: jax.Array, written: model.Written,
               model_config: ConfigDict, rng: jax.Array,
               dropout_rng: Optional[jax.Array] = None) -> ElboTerms:
  """The three terms of L_T (nats) for one memory of episodes [T, S, 4] `written` by `write`."""
  rng_w, rng_m = jax.random.split(rng)
  sigma_w = model.address_std(params)
  w = written.mu + sigma_w * jax.random.normal(rng_w, written.mu.shape, written.mu.dtype)
  readout = sample_readout(written.posterior, w, rng_m)
  nothing = jnp.zeros(notes.shape, jnp.float32)
  logits = decode(codec, params, trusted(readout), notes, nothing, dropout_rng)
  return ElboTerms(-jnp.sum(note_nll(logits, notes)),
                   jnp.sum(dkm.kl_address(written.mu, sigma_w, model_config.prior_std)),
                   written.kl_memory)


def completion_nll(codec: Codec, params: dict, memory_mean: jax.Array, notes: jax.Array,
                   mask: jax.Array, model_config: ConfigDict, method: str,
                   dropout_rng: Optional[jax.Array] = None, all_notes: bool = False) -> jax.Array:
  """Mean -ln p of the masked notes of cues [Q, S, 4] read through `memory_mean` (the
  encoder's read: observed blocks' codes -> address -> read-out -> decoder with the cue).
  `all_notes` scores the observed notes too (training: copying them teaches the decoder to use
  the cue; on JSB, 500 steps reached 68.7% exact on random half masks against 38.3% scored on
  the masked notes alone)."""
  cue_codes = encode(codec, params, notes, mask)
  read = masked_read(memory_mean, cue_codes, code_mask(codec, mask), model_config, method)
  logits = decode(codec, params, read, notes, mask, dropout_rng)
  scored = jnp.ones_like(mask) if all_notes else 1.0 - mask
  return jnp.sum(note_nll(logits, notes) * scored) / jnp.maximum(jnp.sum(scored), 1.0)


def denoising_nll(codec: Codec, params: dict, memory_mean: jax.Array, notes: jax.Array,
                  noisy: jax.Array, model_config: ConfigDict, method: str,
                  dropout_rng: Optional[jax.Array] = None) -> jax.Array:
  """Mean -ln p of every note of episodes [Q, S, 4] read from noisy cues (every block observed,
  the decoder given no notes: the memory's read-out alone)."""
  ones = jnp.ones(notes.shape, jnp.float32)
  cue_codes = encode(codec, params, noisy, ones)
  read = masked_read(memory_mean, cue_codes, jnp.ones_like(cue_codes), model_config, method)
  logits = decode(codec, params, read, notes, jnp.zeros_like(ones), dropout_rng)
  return jnp.mean(note_nll(logits, notes))


def training_masks(rng: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """Random training masks [..., S, 4] (1 = observed), one kind per episode: the second half,
  the last three quarters or the last quarter masked, or each note masked with a rate drawn
  from U(0.1, 0.9)."""
  rng_kind, rng_rate, rng_notes = jax.random.split(rng, 3)
  lead, num_steps = shape[:-2], shape[-2]
  kind = jax.random.randint(rng_kind, lead, 0, 4)[..., None, None]
  step = jnp.arange(num_steps)[:, None]
  rate = jax.random.uniform(rng_rate, lead + (1, 1), minval=0.1, maxval=0.9)
  random = jax.random.uniform(rng_notes, shape) >= rate
  mask = jnp.where(kind == 0, step < num_steps // 2,
                   jnp.where(kind == 1, step < num_steps // 4,
                             jnp.where(kind == 2, random, step < 3 * num_steps // 4)))
  return jnp.broadcast_to(mask, shape).astype(jnp.float32)


def noisy_cue(rng: jax.Array, notes: jax.Array, noise_std: float) -> jax.Array:
  """The report's denoising cue in pitch classes: x + N(0, noise_std^2) in [-1, 1] units
  (one semitone = 2/45), rounded to the nearest class."""
  shift = jnp.round(jax.random.normal(rng, notes.shape) * noise_std * 45.0 / 2.0)
  return jnp.clip(notes + shift.astype(notes.dtype), 0, networks.NUM_PITCHES - 1)


def memory_loss(codec: Codec, params: dict, stored: jax.Array, novel: jax.Array, rng: jax.Array,
                config: ConfigDict) -> tuple[jax.Array, dict[str, jax.Array]]:
  """(loss, metrics) of one training memory: stored [T, S, 4] written, novel [T, S, 4] not."""
  mc = config.model
  rngs = jax.random.split(rng, 9)
  written = write(codec, params, stored, mc, rngs[8])
  terms = elbo_terms(codec, params, stored, written, mc, rngs[0], rngs[1])
  notes_per_memory = stored.shape[0] * stored.shape[1] * stored.shape[2]
  log_likelihood = terms.log_likelihood / notes_per_memory
  kl = (terms.kl_address + terms.kl_memory) / notes_per_memory
  elbo = log_likelihood - kl
  posterior = written.posterior
  method = config.codec.train_read_method
  stored_nll = completion_nll(codec, params, posterior.mean, stored,
                              training_masks(rngs[2], stored.shape), mc, method, rngs[3],
                              all_notes=True)
  # Half the unstored and denoising queries: the decoder's cost is most of a step.
  half = stored.shape[0] // 2 or 1
  novel_nll = completion_nll(codec, params, posterior.mean, novel[:half],
                             training_masks(rngs[4], novel[:half].shape), mc, method, rngs[5],
                             all_notes=True)
  denoise = denoising_nll(codec, params, posterior.mean, stored[half:],
                          noisy_cue(rngs[6], stored[half:], config.eval.denoise_noise_std), mc,
                          method, rngs[7])
  completion = (stored_nll + novel_nll + denoise) / 3.0
  loss = completion - log_likelihood + config.codec.kl_weight * kl
  return loss, {"loss": loss, "elbo_nats_per_note": elbo, "stored_nll": stored_nll,
                "novel_nll": novel_nll, "denoise_nll": denoise,
                "kl_memory_per_note": terms.kl_memory / notes_per_memory}


def bits(nats: ArrayLike) -> ArrayLike:
  """Nats to bits."""
  return nats / math.log(2.0)
