"""kanerva_music: a Dynamic Kanerva Machine, a probabilistic episodic memory, on Bach chorales."""

import music_runtime  # noqa: F401  (holds OpenBLAS to one thread; see its docstring)
