"""Data parallelism over a 1-D device mesh, shared by both trainers and the DKM evaluation.

The batch is global: every process samples the same batch from the same key (cheap gathers),
`shard_map` hands each device its slice of the batch axis, and each device computes the loss and
gradients of its slice; `pmean` over the "data" axis averages them. Parameters and optimizer
state are replicated. Slices are equal, so the mean of slice means is the global mean and a step
on 8 devices equals the step on 1 up to float summation order. Explicit `shard_map` rather than
compiler-propagated sharding because the DKM's batched LAPACK/cuSOLVER calls (SVD, QR,
Cholesky) are custom calls that the SPMD partitioner would otherwise replicate on every device.
"""

import functools
from typing import Any, Callable, Optional, Tuple

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

DATA = "data"


def make_mesh(num_devices: int = 0) -> jax.sharding.Mesh:
  """A mesh over the first `num_devices` devices of all processes (0 = all of them)."""
  devices = jax.devices()
  if num_devices:
    if num_devices > len(devices):
      raise MeshDevicesError(
          f"config.mesh_devices = {num_devices}, but JAX sees only {len(devices)} devices "
          f"({devices[0].platform}). Set --config.mesh_devices=0 to use them all.")
    devices = devices[:num_devices]
  return jax.make_mesh((len(devices),), (DATA,), (jax.sharding.AxisType.Auto,),
                       devices=devices)


def num_shards(mesh: jax.sharding.Mesh) -> int:
  """Devices along the data axis."""
  return mesh.shape[DATA]


def step_barrier(mesh: jax.sharding.Mesh) -> Callable:
  """A function to call on each step's output: blocks until it is ready on a multi-device CPU
  mesh, does nothing elsewhere. XLA:CPU runs every virtual device on one thread pool; when the
  next steps are dispatched before all devices finish the current one, their all-reduces can
  hold every pool thread while the current step's last devices wait for one (we saw this
  deadlock with 8 devices on 2 cores). GPUs and TPUs keep asynchronous dispatch."""
  devices = mesh.devices.flat
  if num_shards(mesh) > 1 and devices[0].platform == "cpu":
    return jax.block_until_ready
  return lambda tree: tree


class MeshDevicesError(ValueError):
  """More mesh devices asked for than JAX sees (a user error: change the config)."""


class IndivisibleBatchError(ValueError):
  """A global batch that the mesh cannot split evenly (a user error: change the config)."""


def check_divisible(size: int, mesh: jax.sharding.Mesh, name: str) -> None:
  """A clear error when a global batch cannot be split evenly over the mesh."""
  if size % num_shards(mesh):
    raise IndivisibleBatchError(
        f"{name} = {size} is not a multiple of the {num_shards(mesh)} devices of the mesh; "
        "choose a multiple, or set --config.mesh_devices to a divisor.")


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Every device holds the whole array."""
  return NamedSharding(mesh, P())


def split_over_data(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Axis 0 split over the data axis."""
  return NamedSharding(mesh, P(DATA))


def put(tree: Any, sharding: NamedSharding) -> Any:
  """Host or device arrays -> global arrays with `sharding`. Each process builds only its own
  shards from its (identical) host copy, so this also works across hosts."""
  def one(x):
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
  return jax.tree_util.tree_map(one, tree)


def put_replicated(tree: Any, mesh: jax.sharding.Mesh) -> Any:
  """`put` with every leaf replicated on every device."""
  return put(tree, replicated(mesh))


def pad_to_multiple(x: np.ndarray, mesh: jax.sharding.Mesh) -> Tuple[np.ndarray, int]:
  """(x padded along axis 0 to a multiple of the devices by repeating its last row, len(x))."""
  count = len(x)
  extra = -count % num_shards(mesh)
  return np.concatenate([x, np.repeat(x[-1:], extra, axis=0)]) if extra else x, count


def per_shard(fn: Callable, mesh: jax.sharding.Mesh, in_specs: Any, out_specs: Any) -> Callable:
  """`fn` on each device's slice (`shard_map` over the data axis); `fn` itself on one device,
  where `shard_map` only costs (3.5x slower TCN steps on CPU, measured).

  Without replication checking (check_vma=False): gradients with respect to replicated inputs
  stay per-device, as in `pmap`, and `mean_over_shards` averages them; with checking, JAX would
  sum them over devices itself.
  """
  if num_shards(mesh) == 1:
    return fn
  return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)


def mean_over_shards(tree: Any, mesh: jax.sharding.Mesh) -> Any:
  """Inside `per_shard`: the mean of every leaf over the data axis."""
  if num_shards(mesh) == 1:
    return tree
  return jax.tree_util.tree_map(lambda x: jax.lax.pmean(x, DATA), tree)


def sum_over_shards(tree: Any, mesh: jax.sharding.Mesh) -> Any:
  """Inside `per_shard`: the sum of every leaf over the data axis."""
  if num_shards(mesh) == 1:
    return tree
  return jax.tree_util.tree_map(lambda x: jax.lax.psum(x, DATA), tree)


def quick_compile_options() -> Optional[dict[str, Any]]:
  """XLA options for small programs compiled once per shape (the capacity curves' reads): on
  CPU, backend optimisation level 0 compiles them 2-3x faster (0.6-0.7 s vs 1.5-1.8 s per shape,
  identical results). Not for the main reads: there it slowed the run (23 s -> 34 s). None on
  other backends."""
  return {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None


def quick_jit(fn: Callable, **jit_kwargs: Any) -> Callable[[], Callable]:
  """() -> `jax.jit(fn, **jit_kwargs)` at `quick_compile_options`, built on the first call:
  asking for the backend at import would start JAX before a multi-host job's
  `jax.distributed.initialize()`."""
  return functools.cache(lambda: jax.jit(fn, compiler_options=quick_compile_options(),
                                         **jit_kwargs))
