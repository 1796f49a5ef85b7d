"""JAX's persistent compilation cache, for every binary, when asked for.

The DKM report compiles about 90 small programs (reads per method, mask and memory size); on a
2-core CPU compiling them was most of its time (96 s cold, 42 s with the cache warm, before
`compile_ahead` brought the cold report to 64 s). Set
$MUSIC_RUNTIME_JAX_CACHE to a directory (e.g. ~/.cache/music_runtime/jax) to keep compiled
programs there. It is off by default because XLA:CPU logs an error line ("Target machine feature
+prefer-no-gather is not supported") for every program it loads back on some CPUs, harmless but
hundreds of lines per report. JAX keys each entry by the program, the jax / jaxlib versions, the
compiler options and the devices, so a stale entry is never used. A JAX_COMPILATION_CACHE_DIR the
user set wins.
"""

import os

from absl import logging
import jax

MAX_BYTES = 2 * 1024**3


def enable(environ=os.environ):
  """Points JAX at $MUSIC_RUNTIME_JAX_CACHE, if set; returns the directory in use, or None."""
  if environ.get("JAX_COMPILATION_CACHE_DIR"):
    return environ["JAX_COMPILATION_CACHE_DIR"]
  path = environ.get("MUSIC_RUNTIME_JAX_CACHE", "")
  if path.lower() in ("off", "0", "none", ""):
    return None
  path = os.path.expanduser(path)
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:  # a read-only location: run without the cache rather than fail
    logging.warning("No JAX compilation cache (%s): %s", path, e)
    return None
  jax.config.update("jax_compilation_cache_dir", path)
  # Most of our programs compile in well under the default 1 s threshold; all are worth keeping.
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)  # needs filelock
  return path
