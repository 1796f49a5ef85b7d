"""kanerva_music.training: training the linear DKM (train) and the checks of a config and a resumed workdir (config_checks)."""
