"""music_runtime.training.batching and compilation_cache."""

import numpy as np

from music_runtime.training import batching


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


def test_compilation_cache_is_off_unless_asked_and_a_user_dir_wins(tmp_path):
  import jax  # pylint: disable=import-outside-toplevel
  from music_runtime.running import compilation_cache  # pylint: disable=import-outside-toplevel
  before = jax.config.jax_compilation_cache_dir
  try:
    assert compilation_cache.enable({}) is None
    assert compilation_cache.enable({"MUSIC_RUNTIME_JAX_CACHE": "off"}) is None
    assert compilation_cache.enable({"JAX_COMPILATION_CACHE_DIR": "/x"}) == "/x"
    path = str(tmp_path / "cache")
    assert compilation_cache.enable({"MUSIC_RUNTIME_JAX_CACHE": path}) == path
    assert jax.config.jax_compilation_cache_dir == path
  finally:
    jax.config.update("jax_compilation_cache_dir", before)


def test_compilation_cache_writes_entries_and_reads_them_back(tmp_path):
  import os  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  program = ("from music_runtime.running import compilation_cache; compilation_cache.enable(); "
             "import jax, jax.numpy as jnp; print(jax.jit(lambda x: jnp.sin(x) * 2)(1.0))")
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}  # the tests'
  env.update(MUSIC_RUNTIME_JAX_CACHE=str(tmp_path / "cache"), JAX_PLATFORMS="cpu")
  runs = [subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                         text=True, timeout=120, check=True) for _ in range(2)]
  assert os.listdir(tmp_path / "cache")
  for run in runs:
    assert "persistent compilation cache" not in run.stderr, run.stderr[-2000:]
    assert run.stdout.strip() == runs[0].stdout.strip()


def test_compile_ahead_compiles_each_program_once_and_calls_then_compile_nothing():
  import functools  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  from music_runtime.running import compile_ahead  # pylint: disable=import-outside-toplevel

  @functools.partial(jax.jit, static_argnames="power")
  def program(x, power):
    return jax.numpy.sum(x ** power)

  calls = [compile_ahead.call(program, np.full(n, value, np.float32), power=p)
           for n in (3, 4) for p in (2, 3) for value in (1.0, 2.0)]  # 4 programs, twice each
  compiles = []
  listener = lambda event, seconds, **kwargs: compiles.append(event) if event == (
      "/jax/core/compile/backend_compile_duration") else None
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    assert compile_ahead.compile_all(calls, workers=2) == 4
    assert len(compiles) == 4
    results = [float(call()) for call in calls]
    assert len(compiles) == 4  # the calls found their programs compiled
    compile_ahead.compile_in_background(
        [compile_ahead.call(program, np.ones(5, np.float32), power=2)]).result()
    assert len(compiles) == 5
    assert float(program(np.ones(5, np.float32), power=2)) == 5.0
    assert len(compiles) == 5
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert results == [3.0, 12.0, 3.0, 24.0, 4.0, 16.0, 4.0, 32.0]
