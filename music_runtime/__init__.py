"""music_runtime: what kanerva_music and tcn_wta both run on.

Devices and sharding, checkpoints, metric writing, workdirs and the NaN guard, distributed
initialisation, converted-dataset caches, pickle-free npz loading, MIDI and audio, the watchdog,
config checks and the command-line conventions (one line per user error, quiet logs).

On import, OpenBLAS is held to one thread. jaxlib's CPU LAPACK kernels (Cholesky, SVD, QR,
triangular solves) call scipy's OpenBLAS from inside XLA's own thread pool; OpenBLAS's worker
threads on top of that pool oversubscribe the cores, and on 2 cores we saw steps stall for
minutes in OpenBLAS and the report hang in the SVD read. The matrices here are K x K or
C x K (32 x 128): one thread loses nothing. Set OPENBLAS_NUM_THREADS yourself to override.
"""

import os
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# pydub (imported by note_seq) warns about ffmpeg, which nothing here uses; filtered at import so
# that conversion worker processes are quiet too.
warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)


def _limit_loaded_blas():
  """Libraries loaded before this import (numpy's OpenBLAS) read the variable too late."""
  if os.environ["OPENBLAS_NUM_THREADS"] != "1":
    return
  try:
    import threadpoolctl  # pylint: disable=import-outside-toplevel
  except ImportError:
    return
  threadpoolctl.threadpool_limits(1, user_api="blas")


_limit_loaded_blas()
