"""Fixed-shape batches over host arrays: one compilation for any number of rows.

Every batch has `batch_size` rows; the last is padded by repeating its final row. The padded rows
are dropped from what `map_in_batches` returns; `mean_in_batches` weights each batch's metrics by
its real rows (a last, padded batch counts its repeated row more than once: pass a multiple of
`batch_size` rows for exact means).
"""

from typing import Any, Callable, Iterator, Sequence

import jax
import numpy as np


def fixed_size_batches(arrays: Sequence[np.ndarray],
                       batch_size: int) -> Iterator[tuple[list[np.ndarray], int]]:
  """Yields ([a[first:first + batch_size] padded to batch_size for a in arrays], count)."""
  num = len(arrays[0])
  for first in range(0, num, batch_size):
    count = min(batch_size, num - first)
    padding = batch_size - count
    yield [np.concatenate([a[first:first + count],
                           np.repeat(a[first + count - 1:first + count], padding, axis=0)])
           for a in arrays], count


def map_in_batches(fn: Callable[..., Any], arrays: Sequence[np.ndarray], batch_size: int) -> Any:
  """fn(*batch) over the leading axis of `arrays`, its outputs (a pytree of arrays with a
  leading batch axis) concatenated without the padded rows."""
  outputs = []
  for batch, count in fixed_size_batches(arrays, batch_size):
    result = jax.device_get(fn(*batch))
    outputs.append(jax.tree_util.tree_map(lambda r, c=count: np.asarray(r)[:c], result))
  return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *outputs)


def mean_in_batches(fn: Callable[..., dict], arrays: Sequence[np.ndarray],
                    batch_size: int) -> dict[str, float]:
  """{name: mean} of fn(*batch) -> {name: scalar metric of the batch}, each batch weighted by
  its number of real rows."""
  totals: dict[str, float] = {}
  num = 0
  for batch, count in fixed_size_batches(arrays, batch_size):
    values = jax.device_get(fn(*batch))
    for name, value in values.items():
      totals[name] = totals.get(name, 0.0) + float(value) * count
    num += count
  return {name: total / num for name, total in totals.items()}
