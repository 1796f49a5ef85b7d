"""kanerva_music.prior.code_length: the chain rule equals the conditionals one at a time."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.prior import code_length
from kanerva_music.prior import objective
from tests.kanerva_music.prior.tiny import S, log_softmax64, random_notes, tiny_net


@pytest.mark.parametrize("block", [1, 2])
def test_chain_rule_code_length_is_the_sum_of_the_conditionals_one_at_a_time(block):
  net, params = tiny_net()
  rng = np.random.default_rng(2)
  notes = random_notes(rng, (2,))
  orders = code_length.random_orders(np.random.default_rng(3), 2, S * 4)
  got = np.asarray(code_length.chain_rule_bits(params, notes, jnp.asarray(orders), net=net,
                                               block=block))
  apply = jax.jit(lambda x, given: objective.apply(net, params, x, given))  # one call at a time
  for e, o in itertools.product(range(2), range(2)):
    order, total = orders[o], 0.0
    for start in range(0, S * 4, block):
      given = np.zeros(S * 4, np.float32)
      given[order[:start]] = 1.0
      logits = apply(notes[e], jnp.asarray(given.reshape(S, 4)))
      logp = log_softmax64(logits).reshape(S * 4, -1)
      flat = np.asarray(notes[e]).reshape(-1)
      total -= sum(logp[i, flat[i]] for i in order[start:start + block]) / np.log(2.0)
    assert got[e, o] == pytest.approx(total, rel=1e-5)
