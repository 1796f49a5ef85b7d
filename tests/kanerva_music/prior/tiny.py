"""Tiny inpainting networks for the prior's unit tests (float64 NumPy oracles beside them)."""

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.prior import network

S = 8  # steps of the tiny networks' episodes


def tiny_net(kind="transformer"):
  net = network.InpaintingNet(kind=kind, width=8, depth=2, heads=2, dropout=0.0)
  notes = jnp.zeros((1, S, 4), jnp.int32)
  return net, net.init(jax.random.PRNGKey(0), network.tokens(notes, notes))["params"]


def random_notes(rng, shape):
  return jnp.asarray(rng.integers(0, network.NUM_PITCHES, size=shape + (S, 4)), jnp.int32)


def log_softmax64(logits):
  z = np.asarray(logits, np.float64)
  z = z - z.max(-1, keepdims=True)
  return z - np.log(np.exp(z).sum(-1, keepdims=True))
