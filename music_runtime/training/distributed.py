"""Multi-process JAX for both binaries: when to call `jax.distributed.initialize()`.

--distributed=auto initializes when the environment is a multi-process job JAX can join by
itself (Slurm with more than one task, a Cloud TPU pod slice with several workers, Open MPI) or
when --coordinator_address is given; `on` always initializes, `off` never. After
initialization every process sees all devices of the job, samples the same global batch and
computes its devices' share; only process 0 writes logs, config.json, reports and figures, and
Orbax coordinates the checkpoints.
"""

from typing import Mapping, Optional

from absl import flags
from absl import logging
import jax

flags.DEFINE_enum("distributed", "auto", ["auto", "on", "off"],
                  "Call jax.distributed.initialize(): auto = when Slurm (SLURM_NTASKS > 1), a "
                  "multi-worker TPU slice, Open MPI or --coordinator_address says so.")
flags.DEFINE_string("coordinator_address", None,
                    "host:port of process 0, for clusters JAX cannot detect.")
flags.DEFINE_integer("num_processes", None, "Processes in the job (with --coordinator_address).")
flags.DEFINE_integer("process_id", None, "This process's index (with --coordinator_address).")

FLAGS = flags.FLAGS


def _int(environ, name):
  try:
    return int(environ.get(name, "1"))
  except ValueError:
    return 1


def job_is_multi_process(environ: Mapping[str, str]) -> bool:
  """True when the environment describes a multi-process job that JAX detects by itself."""
  return (_int(environ, "SLURM_NTASKS") > 1
          or "," in environ.get("TPU_WORKER_HOSTNAMES", "")
          or _int(environ, "OMPI_COMM_WORLD_SIZE") > 1)


def should_initialize(mode: str, coordinator_address: Optional[str],
                      environ: Mapping[str, str]) -> bool:
  """Whether to call `jax.distributed.initialize()`: `mode` "on"/"off" decides, "auto" when a
  coordinator is named or the environment describes a multi-process job."""
  if mode == "on":
    return True
  if mode == "off":
    return False
  return bool(coordinator_address) or job_is_multi_process(environ)


def initialize_from_flags(environ: Mapping[str, str]) -> None:
  """Initializes the distributed runtime if the flags and environment ask for it."""
  if should_initialize(FLAGS.distributed, FLAGS.coordinator_address, environ):
    jax.distributed.initialize(coordinator_address=FLAGS.coordinator_address,
                               num_processes=FLAGS.num_processes, process_id=FLAGS.process_id)
  logging.info("JAX process %d/%d, %d local / %d global devices: %s", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count(),
               jax.local_devices())
