"""kanerva_music.prior.network: what the network may see of a hidden entry."""

import jax.numpy as jnp
import numpy as np

from kanerva_music.prior import network
from kanerva_music.prior import objective
from tests.kanerva_music.prior.tiny import S, random_notes, tiny_net


def test_the_network_never_sees_a_hidden_entrys_value():
  net, params = tiny_net()
  rng = np.random.default_rng(1)
  notes = random_notes(rng, (2,))
  mask = jnp.asarray(rng.random((2, S, 4)) < 0.5, jnp.float32)
  other = jnp.where(mask != 0, notes, (notes + 7) % network.NUM_PITCHES)
  np.testing.assert_array_equal(objective.apply(net, params, notes, mask),
                                objective.apply(net, params, other, mask))
