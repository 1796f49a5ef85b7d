"""The codec DKM: its ELBO against a float64 NumPy oracle, the block code, the reads, training."""

import json
import math
import os
import sys

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.codec import evaluate as codec_evaluate
from kanerva_music.codec import networks
from kanerva_music.codec import objective
from kanerva_music.codec import reads
from kanerva_music.codec import train as codec_train
from kanerva_music.data import pitch_classes
from kanerva_music.evaluation import evaluate
from kanerva_music.tools import ablation
from kanerva_music.tools import complete
from kanerva_music.tools import user_score
from kanerva_music.training import config_checks
from tests.conftest import tiny_codec_config
from tests.music_runtime.test_html_report import check_report_page as check_html_report
from tests.conftest import four_voices
from tests.conftest import write_score

S, T = 8, 3


def tiny_codec(encoder="mlp"):
  config = tiny_codec_config("unused")
  config.codec.encoder = encoder
  return config, objective.make_codec(config)


def random_notes(rng, shape=(T, S, 4)):
  return jnp.asarray(rng.integers(0, networks.NUM_PITCHES, size=shape), jnp.int32)


def oracle_elbo(z, x, prior_mean, u0, sigma, sigma_w, eps_w, eps_m, decode_logits):
  """The three terms of L_T in float64 NumPy, from docs/dkm.md's formulas."""
  t, num_cols = z.shape
  k = prior_mean.shape[0]
  lam = sigma**2  # sigma_p = 1
  mu = np.linalg.solve(prior_mean @ prior_mean.T + lam * np.eye(k), prior_mean @ z.T).T
  delta = z - mu @ prior_mean
  sc = mu @ u0
  sz = sc @ mu.T + sigma**2 * np.eye(t)
  gain = np.linalg.solve(sz, sc).T
  mean = prior_mean + gain @ delta
  cov = u0 - gain @ sc
  kl_memory = 0.5 * (num_cols * np.trace(np.linalg.solve(u0, cov))
                     + np.trace((mean - prior_mean).T @ np.linalg.solve(u0, mean - prior_mean))
                     - num_cols * k + num_cols * (np.linalg.slogdet(u0)[1]
                                                  - np.linalg.slogdet(cov)[1]))
  w = mu + sigma_w * eps_w
  readout = w @ mean + np.sqrt(np.einsum("tk,kl,tl->t", w, cov, w))[:, None] * eps_m
  logits = np.asarray(decode_logits(readout), np.float64)
  log_p = logits - np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1,
                                 keepdims=True)) - logits.max(-1, keepdims=True)
  log_likelihood = np.sum(np.take_along_axis(log_p, np.asarray(x)[..., None], -1))
  ratio = sigma_w**2
  kl_address = 0.5 * np.sum(ratio + mu**2 - 1.0 - np.log(ratio))
  return log_likelihood, kl_address, kl_memory


def test_categorical_elbo_equals_float64_numpy_oracle():
  with jax.enable_x64(True):
    config, codec = tiny_codec()
    params = objective.init_params(codec, jax.random.PRNGKey(0), config.model)
    params = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params)
    x = random_notes(np.random.default_rng(0))
    written = objective.write(codec, params, x, config.model, None)
    rng = jax.random.PRNGKey(3)
    terms = objective.elbo_terms(codec, params, x, written, config.model, rng)
    # The same draws as elbo_terms: w = mu + sigma_w eps_w, then the read-out's noise.
    rng_w, rng_m = jax.random.split(rng)
    k, code_size = config.model.num_rows, codec.code_size
    eps_w = np.asarray(jax.random.normal(rng_w, (T, k), jnp.float64))
    eps_m = np.asarray(jax.random.normal(rng_m, (T, code_size), jnp.float64))
    z = np.asarray(objective.encode(codec, params, x, jnp.ones(x.shape)), np.float64)
    sigma_w = float(jax.nn.softplus(params["address_std_raw"]))
    nothing = jnp.zeros(x.shape)
    decode = lambda r: objective.decode(codec, params, objective.trusted(jnp.asarray(r)), x,
                                        nothing)
    expected = oracle_elbo(z, x, np.asarray(params["prior_mean"], np.float64),
                           config.model.init_cov_scale * np.eye(k), config.model.obs_noise_std,
                           sigma_w, eps_w, eps_m, decode)
    np.testing.assert_allclose([float(terms.log_likelihood), float(terms.kl_address),
                                float(terms.kl_memory)], expected, rtol=1e-8)
    # The code length in bits is -L_T / ln 2; uniform guessing would cost log2(46) per note.
    assert terms.log_likelihood < 0 and terms.kl_memory > 0


@pytest.mark.parametrize("encoder", networks.ENCODERS)
def test_a_block_code_depends_on_its_own_block_only(encoder):
  config, codec = tiny_codec(encoder)
  params = objective.init_params(codec, jax.random.PRNGKey(1), config.model)
  rng = np.random.default_rng(1)
  x = random_notes(rng, (1, S, 4))
  ones = jnp.ones(x.shape)
  changed = x.at[0, 5, 2].set((x[0, 5, 2] + 7) % networks.NUM_PITCHES)  # a note of block 1
  a, b = (np.asarray(objective.encode(codec, params, n, ones)) for n in (x, changed))
  block = config.codec.block_features
  np.testing.assert_array_equal(a[0, :block], b[0, :block])
  assert np.abs(a[0, block:] - b[0, block:]).max() > 1e-4
  # Each block's code has unit root mean square; kwta keeps exactly k entries per block.
  blocks = a.reshape(-1, block)
  np.testing.assert_allclose(np.sqrt(np.mean(blocks**2, axis=-1)), 1.0, rtol=1e-3)
  if encoder == "kwta":
    assert np.all(np.sum(blocks != 0, axis=-1) == config.codec.kwta_k)


def test_code_mask_observes_a_block_only_when_every_note_is():
  _, codec = tiny_codec()
  mask = np.ones((2, S, 4), np.float32)
  mask[0, 6, 1] = 0  # one note of block 1
  mask[1, :4] = 0  # all of block 0
  got = np.asarray(objective.code_mask(codec, jnp.asarray(mask)))
  np.testing.assert_array_equal(got, [[1] * 4 + [0] * 4, [0] * 4 + [1] * 4])


def test_transposition_keeps_every_note_in_range_and_shifts_episodes_whole():
  rng = np.random.default_rng(2)
  x = random_notes(rng, (50, S, 4))
  x = x.at[0].set(0).at[1].set(networks.NUM_PITCHES - 1)  # no room below / above
  shifted = np.asarray(pitch_classes.transpose(jax.random.PRNGKey(0), x, 6))
  diff = shifted - np.asarray(x)
  assert shifted.min() >= 0 and shifted.max() < networks.NUM_PITCHES
  assert np.all(diff == diff[:, :1, :1])  # one shift per episode
  assert np.abs(diff).max() <= 6 and len(np.unique(diff[:, 0, 0])) > 3
  assert diff[0, 0, 0] >= 0 and diff[1, 0, 0] <= 0


@pytest.mark.parametrize("observed", ["nothing", "random", "everything"])
def test_reads_are_finite_at_any_mask(observed):
  config, codec = tiny_codec()
  params = objective.init_params(codec, jax.random.PRNGKey(2), config.model)
  rng = np.random.default_rng(3)
  x = random_notes(rng)
  mask = {"nothing": np.zeros((T, S, 4)), "everything": np.ones((T, S, 4)),
          "random": rng.random((T, S, 4)) < 0.5}[observed].astype(np.float32)
  mean = objective.write(codec, params, x, config.model, None).posterior.mean
  for method in ("lstsq", "cholesky"):
    for result in (reads.encoder_read(codec, params, mean, x, mask, config.model, method, 3),
                   reads.optimised_read(codec, params, mean, x, mask, config.model, method, 3,
                                         0.01),
                   reads.denoise_read(codec, params, mean, x, config.model, method, 2)):
      assert np.all(np.isfinite(np.asarray(result.logits)))
      predictions = np.asarray(result.predictions)
      assert predictions.min() >= 0 and predictions.max() < networks.NUM_PITCHES
  # The cue's observed notes are kept as given.
  result = reads.encoder_read(codec, params, mean, x, mask, config.model, "lstsq", 2)
  np.testing.assert_array_equal(np.asarray(result.predictions)[:, mask != 0],
                                np.broadcast_to(np.asarray(x)[mask != 0],
                                                (2, int(np.sum(mask != 0)))))


def test_codec_config_errors_name_the_field():
  config = tiny_codec_config("unused")
  config.codec.block_steps = 3
  with pytest.raises(config_checks.ConfigError, match="block_steps"):
    config_checks.validate(config)
  config = tiny_codec_config("unused")
  config.codec.encoder = "transformer"
  with pytest.raises(config_checks.ConfigError, match="codec.encoder"):
    config_checks.validate(config)
  config = tiny_codec_config("unused")
  config.model.memory_precision = "float16"
  with pytest.raises(config_checks.ConfigError, match="memory_precision"):
    config_checks.validate(config)
  for masks in (("random_50",), ("half", "middle")):
    config = tiny_codec_config("unused")
    config.eval.codec_masks = masks
    with pytest.raises(config_checks.ConfigError, match="codec_masks"):
      config_checks.validate(config)


def test_a_tiny_trained_codec_recalls_its_stored_episodes(chord_chorale_npz, tmp_path):
  config = tiny_codec_config(chord_chorale_npz, num_train_steps=2500)
  config.learning_rate = 3e-3
  config.codec.block_features, config.codec.embed, config.codec.dropout = 16, 8, 0.0
  config.codec.encoder_hidden, config.codec.decoder_hidden = 32, 64
  config.codec.decoder_width = 16
  config.checkpoint_every_steps = 2500
  config.eval_every_steps = 10_000
  trained = codec_train.train_and_evaluate(config, str(tmp_path / "wd"))
  stored = np.asarray(pitch_classes.from_normalised(jnp.asarray(trained.eval_sets["test"]), S))
  novel = np.asarray(pitch_classes.from_normalised(jnp.asarray(trained.eval_sets["validation"]), S))
  half = codec_evaluate.note_masks(evaluate.observation_mask("half", len(stored), S, None), S)
  complete, nll = codec_evaluate.complete_section(trained, config, stored, novel,
                                                  {"half": half})
  recall = complete["half"]["encoder"]["recall"]["acc_exact"][-1]
  unseen = complete["half"]["encoder"]["novel"]["acc_exact"][-1]
  memory_off = complete["half"]["memory_off"]["recall"]["acc_exact"][-1]
  # Random chords: only the memory knows a stored episode's second half (2,500 steps: 56%
  # against 17% with the memory off and 12% unseen).
  assert recall >= memory_off + 0.25 and recall >= unseen + 0.25
  assert nll["stored"] < nll["memory_off"] and nll["stored"] < nll["unseen"]
  bits = trained.elbo["test"]
  # The whole episode's code length is the conditional one plus the memory's KL, and given the
  # memory it beats a uniform code over the 46 pitches.
  assert bits["bits_per_note"] == pytest.approx(
      bits["conditional_bits_per_note"] + bits["kl_memory_bits_per_note"], rel=1e-9)
  assert 0 < bits["conditional_bits_per_note"] < math.log2(networks.NUM_PITCHES)


def test_main_trains_the_codec_and_writes_its_report(tiny_chorale_npz, tmp_path):
  from kanerva_music.codec import report as codec_report  # pylint: disable=import-outside-toplevel
  config = tiny_codec_config(tiny_chorale_npz)
  config.eval.codec_capacity_sizes = (2, 4)
  workdir = str(tmp_path / "wd")
  trained = codec_train.train_and_evaluate(config, workdir)
  codec_report.write_report(config, workdir, trained)
  saved = json.load(open(os.path.join(workdir, "report.json")))
  codec = saved["codec"]
  assert set(codec["complete"]) == set(config.eval.codec_masks)
  for mask_name in config.eval.codec_masks:
    reads_of_mask = {"encoder", "attractor", "memory_off", "autoencoder"} | (
        {"optimised"} if mask_name in config.eval.optimised_read_masks else set())
    assert set(codec["complete"][mask_name]) == reads_of_mask
    for by_query in codec["complete"][mask_name].values():
      for metrics in by_query.values():
        assert 0 <= metrics["acc_exact"][-1] <= metrics["acc_2"][-1] <= 1
        assert metrics["nll"] > 0
  assert set(codec["nll_nats_per_note"]) == {"stored", "unseen", "memory_off"}
  assert codec["bits_per_note"] == trained.elbo["test"]["bits_per_note"]
  assert codec["config_summary"]["code_size"] == 8
  assert codec["config_summary"]["memory_bytes"] == 4 * 8 * 4
  # K = 4 rows of C' = 8 codes at float32: 128 bytes, whatever T.
  assert saved["storage"]["codec_K4_float32"]["bytes"]["2"] == 128
  assert saved["storage"]["codec_K4_int8"]["bytes"]["4"] == 4 * 8 + 4 * 4
  assert set(saved["frontier"]["codec_K4_bfloat16"]) == {"2", "4"}
  assert saved["frontier"]["list_lzma"]["4"]["half"]["acc_exact"] == 1.0
  assert "codec_dkm" in saved["budget"]["4096"]
  text = open(os.path.join(workdir, "REPORT.md")).read()
  assert "## Targets" in text and "nan" not in text.lower()
  check_html_report(workdir, ("stored", "unseen"))
  row = ablation.model_row(saved)
  half = codec["complete"]["half"]
  assert row[:3] == ("codec (mlp)", "8 x 4", "128")
  assert row[3] == f"{100 * half['encoder']['recall']['acc_exact'][-1]:.1f}%"
  assert row[8] == f"{100 * half['autoencoder']['recall']['acc_exact'][-1]:.1f}%"
  assert row[9] == str(saved["budget"]["16384"]["codec_dkm"]["largest_t"])
  for name in ("codec_complete.png", "frontier.png", "audio/codec_recall_output.wav"):
    assert os.path.getsize(os.path.join(workdir, name)) > 100


def test_completion_tool_reads_a_codec_workdir_and_says_which_model(tiny_chorale_npz, tmp_path,
                                                                     capsys):
  config = tiny_codec_config(tiny_chorale_npz)
  config.data.episode_steps = 32  # 2 bars, as the completion tool expects
  workdir = str(tmp_path / "wd")
  codec_train.train_and_evaluate(config, workdir)
  source, output = tmp_path / "mine.mid", tmp_path / "out.mid"
  write_score(source, four_voices())
  loaded, _ = complete.load_trained(workdir)
  assert complete.best_read(workdir, loaded) == "encoder"  # no report yet: the encoder read
  with pytest.raises(user_score.CompletionInputError, match="codec DKM, whose reads are"):
    complete.check_read(loaded, "lstsq")
  # The binary's main, in this process (its flags defined as running it would, parsed, reset).
  if "input" not in flags.FLAGS:
    complete._define_flags()  # pylint: disable=protected-access
  flags.FLAGS([sys.argv[0], f"--workdir={workdir}", f"--input={source}", f"--output={output}"])
  try:
    complete.main([sys.argv[0]])
  finally:
    flags.FLAGS.unparse_flags()
  printed = capsys.readouterr().out.splitlines()
  assert printed[0] == "Model: codec DKM (mlp encoder, C' = 32), encoder read"
  grid, bars = user_score.read_voices(str(source))
  done, _ = user_score.read_voices(str(output))
  to_fill = user_score.fill_mask(bars, 32)
  np.testing.assert_array_equal(done[~to_fill], grid[~to_fill])
  assert np.all((done[to_fill] >= 36) & (done[to_fill] <= 81))
  assert output.with_suffix(".wav").exists()
