"""tcn_wta.applications: the paper's applications on a trained model: analysis, cleaning, ablations, codes, compression, corruption, probes, Markov codes, generation and code blending."""
