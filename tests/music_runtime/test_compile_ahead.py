"""music_runtime.running.compile_ahead: each distinct program compiled once, ahead of its calls."""

import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.running import compile_ahead


def test_each_distinct_program_compiles_once_and_the_calls_give_the_same_results():
  @jax.jit
  def double(x):
    return 2 * x

  calls = [compile_ahead.call(double, jnp.ones(3)), compile_ahead.call(double, jnp.zeros(3)),
           compile_ahead.call(double, jnp.ones((2, 2)))]
  assert compile_ahead.compile_all(calls, workers=2) == 2  # two shapes, two programs
  np.testing.assert_array_equal(calls[2](), 2 * np.ones((2, 2)))
  assert compile_ahead.compile_in_background(calls[:1]).result() == 1
