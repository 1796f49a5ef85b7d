"""The codec DKM: its ELBO against a float64 NumPy oracle, the block code, the reads, training."""

import sys

from absl import flags
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.codec import networks
from kanerva_music.codec import objective
from kanerva_music.codec import train as codec_train
from kanerva_music.tools import complete
from kanerva_music.tools import user_score
from kanerva_music.training import config_checks
from tests.conftest import four_voices
from tests.conftest import tiny_codec_config
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
