"""kanerva_music.reporting: REPORT.md / report.json of the linear DKM (report), the storage tables, the piano-roll figures and MIDI/WAV (music_io)."""
