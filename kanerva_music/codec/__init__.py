"""The codec DKM: a learned encoder, the DKM memory over codes, a categorical decoder.

Wu, Wayne, Gregor & Lillicrap, "Learning Attractor Dynamics for Generative Memory" (2018), the
DKM as its authors built it: episodes are encoded, the memory is written and read in code space,
and a decoder gives the likelihood of the notes (docs/dkm.md, "The codec DKM").
"""
