"""JAX's persistent compilation cache, on by default for every binary.

The DKM report compiles about 60 small programs (reads per method, mask and memory size); on a
2-core CPU compiling them is most of its time (119 s cold, 53 s warm). The cache lives in
$MUSIC_RUNTIME_JAX_CACHE (default $XDG_CACHE_HOME/music_runtime/jax, i.e. ~/.cache/...); set it to
"off" to compile afresh. JAX keys each entry by the program, the jax / jaxlib versions, the
compiler options and the devices, so a stale entry is never used. A JAX_COMPILATION_CACHE_DIR the
user set wins.
"""

import os

from absl import logging
import jax

MAX_BYTES = 2 * 1024**3


def default_dir(environ=os.environ):
  return os.path.join(environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                      "music_runtime", "jax")


def enable(environ=os.environ):
  """Points JAX at the cache directory (unless turned off); returns it, or None."""
  if environ.get("JAX_COMPILATION_CACHE_DIR"):
    return environ["JAX_COMPILATION_CACHE_DIR"]
  path = environ.get("MUSIC_RUNTIME_JAX_CACHE", default_dir(environ))
  if path.lower() in ("off", "0", "none", ""):
    return None
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:  # a read-only home: run without the cache rather than fail
    logging.warning("No JAX compilation cache (%s): %s", path, e)
    return None
  jax.config.update("jax_compilation_cache_dir", path)
  # Most of our programs compile in well under the default 1 s threshold; all are worth keeping.
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
  return path
