"""music_runtime.batching: fixed-shape batches give the unbatched answer."""

import numpy as np

from music_runtime import batching


def test_map_in_batches_equals_one_call_and_compiles_one_shape():
  x = np.arange(10.0).reshape(5, 2)
  shapes = set()

  def double(batch):
    shapes.add(batch.shape)
    return {"y": 2 * batch}

  out = batching.map_in_batches(double, [x], batch_size=2)
  np.testing.assert_array_equal(out["y"], 2 * x)
  assert shapes == {(2, 2)}


def test_mean_in_batches_weights_each_batch_by_its_real_rows():
  x = np.arange(6.0)
  mean = batching.mean_in_batches(lambda b: {"m": b.mean()}, [x], batch_size=3)
  assert mean["m"] == x.mean()
  # A padded last batch: [4, 5, 5, 5] has mean 4.75, weighted by its 2 real rows.
  padded = batching.mean_in_batches(lambda b: {"m": b.mean()}, [x], batch_size=4)
  assert padded["m"] == (4 * 1.5 + 2 * 4.75) / 6
