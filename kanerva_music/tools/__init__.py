"""kanerva_music.tools: programs on trained workdirs: complete your own chorale (complete, given_notes), the ablation tables, the benchmark and the stress test."""
