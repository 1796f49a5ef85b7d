"""music_runtime.training.batching: fixed-shape batches, padded rows dropped, means weighted by
real rows."""

import numpy as np

from music_runtime.training import batching


def test_the_last_batch_is_padded_with_its_final_row():
  a = np.arange(10).reshape(5, 2)
  batches = list(batching.fixed_size_batches([a], 2))
  assert [count for _, count in batches] == [2, 2, 1]
  np.testing.assert_array_equal(batches[-1][0][0], [[8, 9], [8, 9]])
  assert all(batch[0].shape == (2, 2) for batch, _ in batches)  # one shape: one compilation


def test_map_in_batches_equals_the_function_on_every_row():
  a = np.arange(7, dtype=np.float32)
  calls = []

  def fn(x):
    calls.append(x.shape)
    return {"double": 2 * x, "sum": np.repeat(x.sum(), len(x))}

  out = batching.map_in_batches(fn, [a], 3)
  np.testing.assert_array_equal(out["double"], 2 * a)
  assert len(out["sum"]) == 7 and calls == [(3,)] * 3


def test_mean_in_batches_weights_each_batch_by_its_real_rows():
  a = np.array([1.0, 1.0, 1.0, 1.0, 5.0, 5.0])
  mean = batching.mean_in_batches(lambda x: {"mean": x.mean()}, [a], 4)
  # Batches: 4 ones (mean 1), then 5, 5 padded to 5, 5, 5, 5 (mean 5, 2 real rows).
  assert mean["mean"] == (4 * 1.0 + 2 * 5.0) / 6
