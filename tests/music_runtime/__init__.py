"""Tests of music_runtime, a file per module (or two close ones)."""
