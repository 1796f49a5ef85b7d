"""Held-out reconstruction quality per representation (docs/tcn_wta.md, "Applications", 1)."""

import jax.numpy as jnp

from tcn_wta.datasets import groove


def f1(predicted, actual):
  """F1 of boolean arrays (1.0 when both are empty)."""
  tp = jnp.sum(predicted & actual)
  denom = jnp.sum(predicted) + jnp.sum(actual)
  return jnp.where(denom > 0, 2 * tp / jnp.maximum(denom, 1), 1.0)


def drum_metrics(recon, target, threshold=0.5):
  """Hit F1; velocity and offset MAE on the true hits."""
  n = groove.NUM_CLASSES
  actual = target[..., :n] > 0.5
  predicted = recon[..., :n] > threshold
  weight = actual.astype(recon.dtype)
  count = jnp.maximum(jnp.sum(weight), 1)
  return {"hit_f1": f1(predicted, actual),
          "velocity_mae": jnp.sum(jnp.abs(recon[..., n:2 * n] - target[..., n:2 * n]) * weight) / count,
          "offset_mae": jnp.sum(jnp.abs(recon[..., 2 * n:] - target[..., 2 * n:]) * weight) / count}


def roll_metrics(recon, target, threshold=0.5):
  return {"roll_f1": f1(recon > threshold, target > 0.5),
          "mse": jnp.mean((recon - target) ** 2)}


def event_metrics(logits, target):
  return {"event_accuracy": jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(target, -1))}
