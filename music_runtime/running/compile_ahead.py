"""Compiles many jitted programs ahead of their first calls, several at once.

A report compiles dozens of programs that differ in shapes or static arguments; called one after
another, each compiles on one core while the others wait. Here every call is traced (`lower`,
which holds the GIL) on the calling thread, and the XLA compilations (which release it) run on a
thread pool. The jitted functions keep the executables in their caches, so the calls that follow
run at once. Nothing is executed here, so no two programs ever run concurrently (see
`dkm.map_memories` for why that matters on XLA:CPU).
"""

from concurrent import futures
import os
import time
from typing import Callable, NamedTuple

from absl import logging
import jax
import numpy as np


class Call(NamedTuple):
  """A jitted function and the arguments of a call to come."""
  fn: Callable
  args: tuple
  kwargs: dict

  def __call__(self):
    return self.fn(*self.args, **self.kwargs)


def call(fn, *args, **kwargs):
  return Call(fn, args, kwargs)


def _program_key(c):
  """What decides the program of a call: the function, the arguments' shapes and dtypes, and the
  static keyword arguments."""
  leaves, treedef = jax.tree_util.tree_flatten(c.args)
  shapes = tuple((np.shape(x), str(getattr(x, "dtype", type(x)))) for x in leaves)
  return c.fn, treedef, shapes, tuple(sorted(c.kwargs.items()))


def compile_all(calls, workers=None) -> int:
  """Compiles the program of every `Call` (each once); returns how many programs."""
  start = time.time()
  unique = list({_program_key(c): c for c in calls}.values())
  lowered = [c.fn.lower(*c.args, **c.kwargs) for c in unique]
  traced = time.time()
  workers = workers or os.cpu_count() or 1
  with futures.ThreadPoolExecutor(workers) as pool:
    list(pool.map(lambda program: program.compile(), lowered))
  logging.info("Compiled %d programs in %.1fs (traced in %.1fs, then compiled on %d threads in "
               "%.1fs)", len(unique), time.time() - start, traced - start, workers,
               time.time() - traced)
  return len(unique)


def compile_in_background(calls, workers=None) -> futures.Future:
  """`compile_all` on a background thread, while this one goes on; its result is a Future.

  Running programs meanwhile is safe (compilation executes nothing); call `.result()` before
  the calls, or they compile again (and to surface a compilation error)."""
  executor = futures.ThreadPoolExecutor(1, thread_name_prefix="compile_ahead")
  future = executor.submit(compile_all, calls, workers)
  executor.shutdown(wait=False)
  return future
