"""music_runtime.training: what every trainer runs: the training loop, batching, sharding over a device mesh, multi-host initialisation, checkpoints and the k-WTA layer."""
