"""kanerva_music.data: the chorales: where the JSB file comes from (chorales), the music21 fallback (bach_corpus), 2-bar episodes sampled on device (episodes)."""
