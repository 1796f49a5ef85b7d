"""Data parallelism: a step and an evaluation on 8 devices equal those on 1 device.

The 8-device tests need 8 JAX devices; on a CPU machine `test_runs_on_8_cpu_devices` reruns
them in a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8 (the flag must be
set before JAX starts, so it cannot be set here).
"""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from music_runtime.training import sharding

EIGHT = pytest.mark.skipif(jax.device_count() < 8, reason="needs 8 devices")


def test_runs_on_8_cpu_devices():
  if jax.device_count() >= 8:
    pytest.skip("the 8-device tests run in this process")
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
             JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        __file__, "-k", "eight"], env=env, capture_output=True, text=True,
                       cwd=os.path.join(os.path.dirname(__file__), "..", ".."), check=False)
  assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
  assert " passed" in out.stdout and "skipped" not in out.stdout, out.stdout[-2000:]


def _assert_trees_close(a, b, rtol=1e-4, atol=1e-5):
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol,
                               err_msg=jax.tree_util.keystr(path))


@EIGHT
def test_eight_device_dkm_steps_equal_one_device(tiny_chorale_npz):
  from kanerva_music.training import train  # pylint: disable=import-outside-toplevel
  from tests.conftest import tiny_config  # pylint: disable=import-outside-toplevel
  config = tiny_config(tiny_chorale_npz)
  config.batch_size = 8
  pools, _ = train.load_pools(config)
  states = {}
  for devices in (1, 8):
    mesh = sharding.make_mesh(devices)
    state = sharding.put_replicated(train.create_state(config), mesh)
    step = train.make_train_step(config, mesh)
    rng = sharding.put_replicated(jax.random.PRNGKey(3), mesh)
    pool = sharding.put_replicated(pools["train"], mesh)
    for _ in range(3):
      state, metrics = step(state, pool, rng)
    states[devices] = (state, metrics)
  _assert_trees_close(states[1], states[8])
  assert len(states[8][0]["params"]["prior_mean"].sharding.device_set) == 8


@EIGHT
def test_eight_device_tcn_steps_equal_one_device():
  from configs import corpus as corpus_config  # pylint: disable=import-outside-toplevel
  from tcn_wta.tools import benchmark  # pylint: disable=import-outside-toplevel
  from tcn_wta.training import train  # pylint: disable=import-outside-toplevel
  config = corpus_config.get_config()
  config.model.num_atoms, config.model.tcn_features = 12, (4, 6)
  config.model.k.k_start = config.model.k.k_end = 3
  config.data.window, config.data.train_hop, config.batch_size = 16, 4, 16
  net = train.build_model(config, 88)
  pool = benchmark.synthetic_pool(config, 88, np.random.default_rng(0), num_rows=400)
  states = {}
  for devices in (1, 8):
    mesh = sharding.make_mesh(devices)
    state = sharding.put_replicated(train.create_state(config, net), mesh)
    step = train.make_train_step(config, net, mesh)
    rng = sharding.put_replicated(jax.random.PRNGKey(3), mesh)
    replicated_pool = sharding.put_replicated(pool, mesh)
    for _ in range(3):
      state, scalars = step(state, replicated_pool, rng, 3)
    evaluation = train.evaluate(config, net, state["params"], replicated_pool, 3, mesh, 40)
    states[devices] = (state, scalars["loss"], evaluation["loss"])
  _assert_trees_close(states[1], states[8])


@EIGHT
def test_eight_device_dkm_evaluation_equals_one_device(tiny_chorale_npz):
  from kanerva_music.evaluation import evaluate  # pylint: disable=import-outside-toplevel
  from kanerva_music.training import train  # pylint: disable=import-outside-toplevel
  from tests.conftest import tiny_config  # pylint: disable=import-outside-toplevel
  config = tiny_config(tiny_chorale_npz)
  config.eval.num_iters = 2
  pools, _ = train.load_pools(config)
  params = train.create_state(config)["params"]
  sets = train.evaluation_sets(config, pools)
  stored = np.asarray(sets["test"])  # 3 memories: padded to 8 on the 8-device mesh
  novel = np.asarray(sets["validation"])
  reports, elbos = {}, {}
  for devices in (1, 8):
    mesh = sharding.make_mesh(devices)
    tasks = evaluate.make_tasks(config, stored)
    reports[devices], _ = evaluate.evaluate(params, stored, novel, tasks, config, {8: stored},
                                            mesh)
    elbos[devices] = train.evaluate_elbo(config, params, sets, mesh)
  _assert_trees_close(reports[1], reports[8], rtol=1e-4, atol=1e-5)
  _assert_trees_close(elbos[1], elbos[8], rtol=1e-4, atol=1e-5)


@EIGHT
def test_eight_device_training_run_resumes_and_matches_one_device(tiny_chorale_npz, tmp_path):
  from kanerva_music.training import train  # pylint: disable=import-outside-toplevel
  from tests.conftest import tiny_config  # pylint: disable=import-outside-toplevel
  results = {}
  for devices, steps in ((1, 4), (8, 2), (8, 4)):  # the second 8-device run resumes at step 2
    config = tiny_config(tiny_chorale_npz, steps)
    config.batch_size, config.mesh_devices = 8, devices
    # float32 summation-order differences between 1 and 8 devices scale with 1 / sigma_xi^2:
    # at the default 0.03 they exceed 1e-4 after four Adam steps, at the paper's 0.2 they do not.
    config.model.obs_noise_std = 0.2
    results[devices] = train.train_and_evaluate(config, str(tmp_path / str(devices)))
  # Adam's moments of near-cancelling gradient entries differ by up to ~2e-5 in float32.
  _assert_trees_close(results[1].state, results[8].state, atol=3e-5)
  assert sharding.step_barrier(sharding.make_mesh(8)) is jax.block_until_ready  # CPU: no overlap
  assert sharding.step_barrier(sharding.make_mesh(1))("x") == "x"
  # Per-memory bits differ by float32 summation order (jax 0.12: the standard error over memories
  # by 5e-5 of 0.147); the means agree to 1e-5.
  _assert_trees_close(results[1].elbo_bits_per_dim, results[8].elbo_bits_per_dim,
                      rtol=1e-4, atol=1e-4)


def test_batch_that_does_not_split_over_the_mesh_is_a_clear_error():
  mesh = sharding.make_mesh(1)
  sharding.check_divisible(5, mesh, "batch_size")  # one device takes any batch
  with pytest.raises(ValueError, match=r"mesh_devices = 9999, but JAX sees only"):
    sharding.make_mesh(9999)
  if jax.device_count() >= 2:
    with pytest.raises(ValueError, match="batch_size = 5 is not a multiple of the 2 devices"):
      sharding.check_divisible(5, sharding.make_mesh(2), "batch_size")
