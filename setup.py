"""kanerva_music and tcn_wta (on music_runtime): machine memory and structure in music (JAX/Flax)."""

import setuptools

# Pinned to versions that resolve together on Python 3.11. jax is held at 0.9.2: jaxlib 0.10.x
# runs batched LAPACK kernels on XLA:CPU's intra-op pool and can deadlock it (seen here in the
# DKM training step on a 2-core machine); 0.9.x has no such path.
INSTALL_REQUIRES = [
    "jax==0.9.2",
    "jaxlib==0.9.2",
    "flax==0.12.6",
    "optax==0.2.8",
    "orbax-checkpoint==0.12.8",
    "numpy==2.4.6",
    "absl-py==2.5.1",
    "ml-collections==1.1.0",
    "note-seq==0.0.5",
    # music_runtime/midi_reader.py builds mido's message objects itself (its tests compare them
    # with mido's reader), and hands them to pretty_midi: both pinned.
    "mido==1.3.3",
    "pretty_midi==0.2.11.post0",
    "music21==10.5.1",
    "matplotlib==3.11.2",
    "scikit-learn==1.9.1",
    "tensorboardX==2.6.5",
    "threadpoolctl==3.8.0",
    "filelock==4.2.12",  # JAX's persistent compilation cache needs it to bound its size
]

setuptools.setup(
    name="kanerva-music",
    version="0.1.0",
    description=__doc__,
    packages=setuptools.find_packages(include=["kanerva_music", "kanerva_music.*", "music_runtime",
                                               "music_runtime.*", "tcn_wta",
                                               "tcn_wta.*", "configs"]),
    python_requires=">=3.11",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest==9.2.0"],
        # Accelerators: the same jax, with NVIDIA CUDA 12 (wheels bundle CUDA) or Cloud TPU.
        "cuda": ["jax[cuda12]==0.9.2"],
        "tpu": ["jax[tpu]==0.9.2"],
    },
)
