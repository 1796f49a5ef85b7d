"""tcn_wta.tools: the benchmark."""
