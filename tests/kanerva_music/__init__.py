"""Tests of kanerva_music: the memory, the codec DKM, data, evaluation, reports, tools."""
