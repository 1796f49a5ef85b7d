"""kanerva_music and tcn_wta (on music_runtime): machine memory and structure in music (JAX/Flax)."""

import setuptools

# Lower bounds: the releases the test suite has passed with (older ones are untested, not known
# broken); the exact sets CI tests are constraints/py311.txt and constraints/py312.txt:
#   pip install -c constraints/py311.txt -e '.[test]'
# Excluded jax/jaxlib releases, for a measured deadlock on XLA:CPU: 0.10.0 made batched LAPACK
# calls split their batch over XLA's thread pool and block on it, so two such calls at once on a
# 2-thread pool wait for each other forever (both threads in lapack_spotrf_ffi/lapack_strsm_ffi
# under jax::ParallelBatchMap); upstream turned it off in 0.11.1 (jax-ml/jax commit 859992407d,
# jax-ml/jax#36927). No start-up flag avoids it.
_JAX_EXCLUDED = "!=0.10.*,!=0.11.0"  # jaxlib 0.10.0-0.11.0: the batched-LAPACK deadlock above
INSTALL_REQUIRES = [
    "jax>=0.9.2," + _JAX_EXCLUDED,
    "jaxlib>=0.9.2," + _JAX_EXCLUDED,
    "flax>=0.12.6",
    "optax>=0.2.8",
    "orbax-checkpoint>=0.12.8",
    "numpy>=2.4",
    "absl-py>=2.5",
    "ml-collections>=1.1",
    "note-seq>=0.0.5",
    # music_runtime/files/midi_reader.py builds mido's message objects itself (its tests compare
    # them with mido's reader) and hands them to pretty_midi.
    "mido>=1.3.3",
    "pretty_midi>=0.2.11",
    "music21>=10.5",
    "matplotlib>=3.11",
    "scikit-learn>=1.9",
    "tensorboardX>=2.6.5",
    "threadpoolctl>=3.8",
    "filelock>=4.2",  # JAX's persistent compilation cache needs it to bound its size
    "markdown>=3.11",  # REPORT.html from REPORT.md
    # pydub (note_seq's audio, the reports' MP3/WAV) imports audioop, which Python 3.13 removed.
    "audioop-lts>=0.2; python_version >= '3.13'",
]

setuptools.setup(
    name="kanerva-music",
    version="0.1.0",
    description=__doc__,
    # configs/ is not installed: configs are files passed by path (--config=configs/...).
    packages=setuptools.find_packages(include=["kanerva_music", "kanerva_music.*", "music_runtime",
                                               "music_runtime.*", "tcn_wta", "tcn_wta.*"]),
    python_requires=">=3.11",
    # 3.11 and 3.12 tested by .ci/run, 3.13 by the README's test command with its constraints.
    classifiers=["Programming Language :: Python :: 3.11",
                 "Programming Language :: Python :: 3.12",
                 "Programming Language :: Python :: 3.13"],
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # pytest-xdist: the README runs the suite on two processes; selenium drives the headless
        # browser test of REPORT.html (it skips without chromium and chromedriver). pytest 9.2
        # keeps node ids as structured NodeIds, so pytest-xdist 3.8's `--dist loadgroup` (which
        # renames `item._nodeid`) silently stops grouping and every worker builds each shared
        # fixture again: 9.2 excluded until an xdist release follows it. mypy checks the typed
        # packages (mypy.ini; .ci/run runs it).
        "test": ["pytest>=9.0,!=9.2.*", "pytest-xdist>=3.8", "selenium>=4.40", "mypy>=2.4"],
        # Accelerators: jax with NVIDIA CUDA 12 (the wheels bundle CUDA) or Cloud TPU.
        "cuda": ["jax[cuda12]>=0.9.2," + _JAX_EXCLUDED],
        "tpu": ["jax[tpu]>=0.9.2," + _JAX_EXCLUDED],
    },
)
