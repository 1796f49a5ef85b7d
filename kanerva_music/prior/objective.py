"""The orderless inpainting objective: the cross-entropy of the hidden entries.

Coconet (Huang et al., ISMIR 2017, section 5) and orderless NADE (Uria et al. 2014, eq. 9): for
an episode x and a mask m, -sum_{i hidden} ln p(x_i | x_given) / #hidden, so every number of
hidden entries weighs the same in the mean over episodes.
"""

from typing import Optional, cast

import jax
import jax.numpy as jnp
import optax

from kanerva_music.prior import network


def note_nll(logits: jax.Array, notes: jax.Array) -> jax.Array:
  """-ln p of each entry [..., S, 4] under logits [..., S, 4, 46] (nats)."""
  return optax.softmax_cross_entropy_with_integer_labels(logits, notes)


def hidden_nll(logits: jax.Array, notes: jax.Array, mask: jax.Array) -> jax.Array:
  """[...] mean -ln p over each episode's hidden entries (mask == 0); 0 where none is hidden.

  Args:
    logits: [..., S, 4, 46].
    notes: [..., S, 4] the true pitch classes.
    mask: [..., S, 4] 1 = given, 0 = hidden.
  """
  hidden = (mask == 0).astype(logits.dtype)
  total = jnp.sum(note_nll(logits, notes) * hidden, axis=(-2, -1))
  return total / jnp.maximum(jnp.sum(hidden, axis=(-2, -1)), 1.0)


def apply(net: network.InpaintingNet, params: dict, notes: jax.Array, mask: jax.Array,
          context: Optional[jax.Array] = None,
          dropout_rng: Optional[jax.Array] = None) -> jax.Array:
  """Logits [..., S, 4, 46] of episodes [..., S, 4] given where mask != 0; with `dropout_rng`,
  in training mode. A network with a context input and no `context` reads the zero context
  (the memory off)."""
  inputs = network.tokens(notes, mask)
  if net.context and context is None:
    context = jnp.zeros(inputs.shape[:-1] + (net.context,), jnp.float32)
  if dropout_rng is None:
    return cast(jax.Array, net.apply({"params": params}, inputs, context))
  return cast(jax.Array, net.apply({"params": params}, inputs, context, True,
                                   rngs={"dropout": dropout_rng}))


def loss(net: network.InpaintingNet, params: dict, notes: jax.Array, mask: jax.Array,
         dropout_rng: Optional[jax.Array] = None,
         context: Optional[jax.Array] = None) -> jax.Array:
  """The mean over episodes [B, S, 4] of `hidden_nll`."""
  return jnp.mean(hidden_nll(apply(net, params, notes, mask, context, dropout_rng), notes, mask))
