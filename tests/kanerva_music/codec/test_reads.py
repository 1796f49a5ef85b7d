"""kanerva_music.codec.reads: every read finite under any mask."""

import jax
import numpy as np
import pytest

from kanerva_music.codec import networks
from kanerva_music.codec import objective
from kanerva_music.codec import reads
from tests.kanerva_music.test_codec import S
from tests.kanerva_music.test_codec import T
from tests.kanerva_music.test_codec import random_notes
from tests.kanerva_music.test_codec import tiny_codec


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
