"""kanerva_music.prior.reads: Gibbs sampling and the one-pass read never change a given entry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.prior import network
from kanerva_music.prior import reads
from tests.kanerva_music.prior.tiny import S, random_notes, tiny_net


def test_gibbs_never_changes_a_given_entry_and_fills_every_hidden_one():
  net, params = tiny_net("conv")
  rng = np.random.default_rng(7)
  notes = random_notes(rng, (6,))
  mask = jnp.asarray(rng.random((6, S, 4)) < 0.4, jnp.float32)
  fill = reads.gibbs(net, params, notes, mask, jax.random.PRNGKey(8), num_steps=5)
  got = np.asarray(fill.notes)
  np.testing.assert_array_equal(got[np.asarray(mask) != 0], np.asarray(notes)[np.asarray(mask)
                                                                             != 0])
  assert got.min() >= 0 and got.max() < network.NUM_PITCHES
  one = reads.one_pass(net, params, notes, mask)
  np.testing.assert_array_equal(np.asarray(one.notes)[np.asarray(mask) != 0],
                                np.asarray(notes)[np.asarray(mask) != 0])


def test_gibbs_block_share_falls_from_one_to_its_floor():
  shares = [float(reads.block_share(n, 8, 0.1)) for n in range(8)]
  assert shares[0] == 1.0 and shares[-1] == pytest.approx(0.1)
  assert all(a >= b for a, b in zip(shares, shares[1:]))
