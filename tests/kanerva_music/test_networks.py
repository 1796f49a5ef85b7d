"""kanerva_music.codec.networks: a block code depends on its own block, transposition stays in
range."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.codec import networks
from kanerva_music.codec import objective
from kanerva_music.data import pitch_classes
from tests.kanerva_music.test_codec import S
from tests.kanerva_music.test_codec import random_notes
from tests.kanerva_music.test_codec import tiny_codec


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
