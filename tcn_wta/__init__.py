"""tcn_wta: a temporal convolutional autoencoder with a k-winners-take-all code."""

import music_runtime  # noqa: F401  (holds OpenBLAS to one thread; see its docstring)
