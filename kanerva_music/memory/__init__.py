"""kanerva_music.memory: the memory: the DKM's write, KL and reads as pure functions (dkm), SPD algebra in XLA ops (spd), the trainable prior and the ELBO (model)."""
