"""tcn_wta.training: training the autoencoder (train), its metrics and the config checks."""
