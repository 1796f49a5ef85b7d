"""What each method keeps, in bytes: memories at a chosen precision, and the lists beside them.

A memory keeps its posterior mean (K x C entries at `PRECISIONS`' bytes each; int8 adds one
float32 scale per row) and whatever a read needs per stored episode (the attention read's T x C
read-outs). The lists keep the episodes themselves: float32 values, one byte per pitch, a
run-length code of held notes, or the pitch bytes through the standard library's `lzma`; their
reads decode the list exactly, then take the nearest stored episode on the observed entries
(docs/dkm.md, "Storage").
"""

import lzma

import jax.numpy as jnp
import numpy as np

PRECISIONS = ("float32", "bfloat16", "int8")
ENTRY_BYTES = {"float32": 4, "bfloat16": 2, "int8": 1}
_SCALE_BYTES = 4  # one float32 scale per row of an int8 matrix
NUM_VOICES = 4
# Raw LZMA2 at its strongest preset: no container header, the filter chain is part of the format.
LZMA_FILTERS = ({"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME},)


def check_precision(precision: str) -> None:
  if precision not in PRECISIONS:
    raise ValueError(f"memory precision {precision!r}; expected one of {PRECISIONS}")


def matrix_bytes(num_rows: int, num_cols: int, precision: str) -> int:
  """Bytes of a [num_rows, num_cols] matrix kept at `precision` (int8: plus a scale per row)."""
  check_precision(precision)
  scales = num_rows * _SCALE_BYTES if precision == "int8" else 0
  return num_rows * num_cols * ENTRY_BYTES[precision] + scales


def quantize(matrix: jnp.ndarray, precision: str) -> jnp.ndarray:
  """The matrix as a read sees it after being kept at `precision` (same dtype as the input).

  bfloat16 rounds each entry to 8 mantissa bits; int8 keeps round(x / s) in [-127, 127] with one
  scale s = max |row| / 127 per row (symmetric, so a zero row stays zero).
  """
  check_precision(precision)
  if precision == "float32":
    return matrix
  if precision == "bfloat16":
    return matrix.astype(jnp.bfloat16).astype(matrix.dtype)
  scale = jnp.max(jnp.abs(matrix), axis=-1, keepdims=True) / 127.0
  safe = jnp.where(scale > 0, scale, 1.0)
  return (jnp.clip(jnp.round(matrix / safe), -127, 127) * safe).astype(matrix.dtype)


def pitch_bytes(pitches: np.ndarray) -> bytes:
  """[T, S, 4] MIDI pitches (0..127) -> T * S * 4 bytes, time-major within each episode."""
  pitches = np.asarray(pitches)
  if pitches.size and (pitches.min() < 0 or pitches.max() > 127):
    raise ValueError("pitches must be MIDI numbers 0..127")
  return pitches.astype(np.uint8).tobytes()


def lzma_compress(pitches: np.ndarray) -> bytes:
  """The episodes' pitch bytes as one raw LZMA2 stream (time-major: held notes repeat every
  4 bytes, which LZMA's repeat matches find; voice-major is 13-46% larger on JSB test windows)."""
  return lzma.compress(pitch_bytes(pitches), format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)


def lzma_decompress(blob: bytes, num_steps: int) -> np.ndarray:
  """Inverse of `lzma_compress`: [T, num_steps, 4] int64 pitches."""
  raw = lzma.decompress(blob, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)
  return np.frombuffer(raw, np.uint8).astype(np.int64).reshape(-1, num_steps, NUM_VOICES)


def run_length_encode(pitches: np.ndarray) -> bytes:
  """[T, S, 4] pitches -> per episode and voice, (pitch, length) byte pairs of held notes.

  Lengths run 1..255 (a longer note is split into several runs), so any S round-trips.
  """
  pitches = np.asarray(pitches)
  pitch_bytes(pitches)  # range check
  out = bytearray()
  for episode in pitches:
    for voice in episode.T:
      change = np.flatnonzero(np.diff(voice)) + 1
      starts = np.concatenate([[0], change])
      lengths = np.diff(np.concatenate([starts, [len(voice)]]))
      for start, length in zip(starts, lengths):
        while length > 0:
          run = min(length, 255)
          out += bytes((int(voice[start]), run))
          length -= run
  return bytes(out)


def run_length_decode(blob: bytes, num_steps: int) -> np.ndarray:
  """Inverse of `run_length_encode`: [T, num_steps, 4] int64 pitches."""
  pairs = np.frombuffer(blob, np.uint8).reshape(-1, 2)
  values = np.repeat(pairs[:, 0], pairs[:, 1]).astype(np.int64)
  per_episode = num_steps * NUM_VOICES
  if len(values) % per_episode:
    raise ValueError(f"run-length code holds {len(values)} notes, not whole episodes of "
                     f"{per_episode}")
  return values.reshape(-1, NUM_VOICES, num_steps).transpose(0, 2, 1)


def list_bytes(pitches: np.ndarray) -> dict:
  """{list kind: bytes of one memory's T episodes [T, S, 4]}; every list is lossless."""
  pitches = np.asarray(pitches)
  num_values = pitches.size
  return {"list_float32": 4 * num_values, "list_pitch_bytes": num_values,
          "list_run_length": len(run_length_encode(pitches)),
          "list_lzma": len(lzma_compress(pitches))}


def mean_list_bytes(sets: np.ndarray) -> dict:
  """{list kind: mean bytes per memory} over memories sets [M, T, S, 4] of pitches."""
  per_memory = [list_bytes(s) for s in np.asarray(sets)]
  return {kind: float(np.mean([b[kind] for b in per_memory])) for kind in per_memory[0]}


def memory_bytes(num_rows: int, num_cols: int, precision: str, num_episodes: int,
                 keeps_readouts: bool = False) -> int:
  """Bytes of a memory of [num_rows, num_cols] at `precision`, plus the T x C read-outs at the
  same precision when the read needs them (the attention read)."""
  total = matrix_bytes(num_rows, num_cols, precision)
  if keeps_readouts:
    total += matrix_bytes(num_episodes, num_cols, precision)
  return total


def full_rank(num_rows: int, num_cols: int) -> bool:
  """K >= C: the rows can span every episode, so a linear memory reconstructs anything and its
  recall says nothing about storage (docs/dkm.md, "The rank bound")."""
  return num_rows >= num_cols
