"""Tests of kanerva_music: the memory, the inpainting network, data, evaluation, reports, tools."""
