"""music_runtime.running: running a binary: one line per user error (cli), config checks and files, quiet logs, the watchdog and the compilation cache and ahead-of-time compiles."""
