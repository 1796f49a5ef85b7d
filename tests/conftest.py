"""Shared test setup: fast CPU compilation and small made-up chorale files."""

import jax
import numpy as np
import pytest

from kanerva_music import chorales

jax.config.update("jax_disable_most_optimizations", True)


def write_object_npz(path, splits):
  """An npz in the Jsb16thSeparated layout: each split an object array of (T, 4) arrays."""
  arrays = {}
  for name, chorale_list in splits.items():
    holder = np.empty(len(chorale_list), dtype=object)
    holder[:] = chorale_list
    arrays[name] = holder
  np.savez(path, **arrays)


def random_splits(rng, num=3, length=40):
  """Random-walk four-voice chorales in the model's pitch range."""
  def chorale(n):
    walk = 58 + np.cumsum(rng.integers(-2, 3, size=(n, 4)), axis=0) + np.array([12, 4, -4, -12])
    return np.clip(walk, 36, 81).astype(np.float16)
  return {s: [chorale(length + i) for i in range(num)] for s in chorales.SPLITS}


@pytest.fixture
def tiny_chorale_npz(tmp_path):
  path = tmp_path / "tiny_chorales.npz"
  write_object_npz(path, random_splits(np.random.default_rng(0), num=4, length=72))
  return str(path)
