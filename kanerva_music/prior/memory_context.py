"""The DKM memory as the inpainting network's context: a listener who has heard the piece.

To complete a window of a chorale, a Dynamic Kanerva Machine (Wu, Wayne, Graves and Lillicrap,
"The Dynamic Kanerva Machine", ICLR 2018; Rangasayee & Fan, eqs. 1 and 6) holds the chorale's
other windows on the same bar grid (starts a whole number of bars away that do not overlap the
window; the grid slots `slot_offsets`). Each window is written in the one-hot pitch code
z = onehot(x) in R^{S * 4 * 46} at a fixed address of its slot (Kanerva's fixed locations: the
prior memory MN(0, I, I) has no rows to address against), by the DKM's Kalman write. The cue's
given entries are read by the ridge solution of eq. 6 on the observed code entries; the
read-out R^T w, a per-entry mixture of the stored windows' pitches, and how well it fits the
given entries are the network's context (`CONTEXT_FEATURES` per step). With the memory off the
context is zero, so one network serves both.
"""

from typing import Any, NamedTuple, Union

import jax
import jax.numpy as jnp
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.data import pitch_classes
from kanerva_music.memory import dkm
from kanerva_music.memory import spd

BAR_STEPS = 16  # 16th notes in a 4/4 bar: the JSB chorales' grid
NUM_PITCHES = pitch_classes.NUM_PITCHES
NUM_VOICES = pitch_classes.NUM_VOICES
# Per step: the read-out's 4 x 46 pitch weights, the log fit of the whole cue, the log fit of
# the step's given entries, whether the step has a given entry, and the memory-on flag.
CONTEXT_FEATURES = NUM_VOICES * NUM_PITCHES + 4
MODES = ("off", "others", "stored")  # training: no memory; the other windows; those and itself
_FIT_FLOOR = 1e-3
HostOrDevice = Union[np.ndarray, jax.Array]


class ChoraleGrid(NamedTuple):
  """One split's chorales as pitch classes, concatenated (a pytree, so it can enter `jit`)."""
  classes: HostOrDevice      # [N, 4] int32 pitch classes (rests read as 0: never in a window)
  valid_start: HostOrDevice  # [N] bool: a window of the episode's steps without a rest starts here
  chorale: HostOrDevice      # [N] int32 the chorale of each row
  first_row: HostOrDevice    # [N] int32 at a window start: its chorale's first window start


def chorale_grid(pool: episodes.EpisodePool) -> ChoraleGrid:
  """The `ChoraleGrid` of an `episodes.EpisodePool` (host arrays)."""
  pool = jax.device_get(pool)
  steps = np.asarray(pool.steps)
  starts, offsets = np.asarray(pool.window_starts), np.asarray(pool.chorale_offsets)
  valid = np.zeros(len(steps), bool)
  valid[starts] = True
  chorale = np.full(len(steps), -1, np.int32)  # only window starts are ever compared
  first = np.zeros(len(steps), np.int32)
  for p in range(len(offsets) - 1):
    own = starts[offsets[p]:offsets[p + 1]]
    chorale[own] = p
    first[own] = own[0]
  classes = np.where(np.isfinite(steps), steps, -1.0)  # a rest reads as class 0
  classes = pitch_classes.from_normalised(classes, 1)[:, 0]
  return ChoraleGrid(classes.astype(np.int32), valid, chorale, first)


def slot_offsets(num_slots: int, episode_steps: int) -> np.ndarray:
  """[num_slots] step offsets of the stored windows from the window to complete: whole bars,
  nearest first, alternating after and before, none overlapping it (|offset| >= S)."""
  first_bar = -(-episode_steps // BAR_STEPS)
  bars = first_bar + np.arange(num_slots) // 2
  return (np.where(np.arange(num_slots) % 2 == 0, bars, -bars) * BAR_STEPS).astype(np.int32)


def grid_windows(grid: ChoraleGrid, rows: Any, episode_steps: int) -> Any:
  """[..., S, 4] the windows starting at `rows` [...] (rows beyond the grid read its last); NumPy
  for NumPy rows and a host grid."""
  xp = pitch_classes.array_module(rows)
  last = grid.classes.shape[0] - 1
  index = xp.clip(rows[..., None] + xp.arange(episode_steps), 0, last)
  return grid.classes[index]


def stored_slots(grid: ChoraleGrid, target_rows: Any, offsets: Any,
                 episode_steps: int) -> tuple[Any, Any]:
  """(windows [..., L, S, 4], valid [..., L]) of the slots `offsets` [L] around windows starting
  at `target_rows` [...]: valid where a rest-free window of the same chorale starts there; NumPy
  for NumPy rows and a host grid."""
  xp = pitch_classes.array_module(target_rows)
  rows = target_rows[..., None] + offsets
  inside = (rows >= 0) & (rows < grid.classes.shape[0])
  safe = xp.clip(rows, 0, grid.classes.shape[0] - 1)
  valid = inside & grid.valid_start[safe] & (grid.chorale[safe]
                                             == grid.chorale[target_rows][..., None])
  return grid_windows(grid, safe, episode_steps), valid


def one_hot_code(notes: jax.Array) -> jax.Array:
  """Pitch classes [..., S, 4] -> the one-hot code [..., S * 4 * 46] (float32)."""
  code = jax.nn.one_hot(notes, NUM_PITCHES, dtype=jnp.float32)
  return code.reshape(notes.shape[:-2] + (-1,))


def slot_addresses(num_slots: int, num_rows: int, seed: int) -> np.ndarray:
  """[num_slots, K] the fixed write address of each slot, N(0, 1) entries (seeded)."""
  return np.random.default_rng(seed).standard_normal((num_slots, num_rows)).astype(np.float32)


def write_addresses(memory: "MemoryConfig", seed: int) -> jax.Array:
  """[L + 1, K] the addresses of a run's memory (`config.seed`): its L slots, then the window
  itself (training's "stored" mode, stored recall); training, evaluation and the tools share
  them."""
  return jnp.asarray(slot_addresses(memory.num_slots + 1, memory.num_rows, seed + 5))


def write(windows: jax.Array, valid: jax.Array, addresses: jax.Array,
          noise: float) -> dkm.Memory:
  """q(M) after writing the valid windows [L, S, 4] at their slots' addresses [L, K] into the
  prior MN(0, I, I) (`dkm.write`; an invalid slot's address is 0, so it writes nothing)."""
  num_rows = addresses.shape[-1]
  code = one_hot_code(windows)
  prior = dkm.Memory(jnp.zeros((num_rows, code.shape[-1]), jnp.float32),
                     jnp.eye(num_rows, dtype=jnp.float32))
  w = addresses * valid[:, None].astype(jnp.float32)
  return dkm.write(prior, code, w, obs_noise_std=noise)


def _features(readout: jax.Array, notes: jax.Array, mask: jax.Array) -> jax.Array:
  """[S, CONTEXT_FEATURES] of a read-out [S, 4, 46] of a cue (notes [S, 4], mask)."""
  num_steps = notes.shape[0]
  given = (mask != 0).astype(jnp.float32)
  residual = jnp.sum((readout - jax.nn.one_hot(notes, NUM_PITCHES)) ** 2, axis=-1) * given
  per_step = jnp.sum(given, axis=-1)
  step_fit = jnp.log(jnp.sum(residual, axis=-1) / jnp.maximum(per_step, 1.0) + _FIT_FLOOR)
  total = jnp.sum(given)
  cue_fit = jnp.log(jnp.where(total > 0, jnp.sum(residual) / jnp.maximum(total, 1.0), 1.0)
                    + _FIT_FLOOR)
  has_given = (per_step > 0).astype(jnp.float32)
  # Log fits span about -7..1; a quarter keeps them near the read-out's scale.
  features = [readout.reshape(num_steps, -1), jnp.full((num_steps, 1), cue_fit / 4.0),
              (step_fit * has_given / 4.0)[:, None], has_given[:, None],
              jnp.ones((num_steps, 1))]
  return jnp.concatenate(features, axis=-1)


def read_context(memory: dkm.Memory, notes: jax.Array, mask: jax.Array,
                 noise: float) -> jax.Array:
  """[S, CONTEXT_FEATURES] context of a cue (notes [S, 4] given where mask != 0) read from
  `memory` (`write`): the ridge read of eq. 6 on the given entries' codes (sigma_xi = `noise`,
  sigma_p = 1), then the read-out's pitch weights and its fits (ln mean squared residual on the
  given entries). The reference program of `window_context`."""
  num_steps = notes.shape[0]
  code = one_hot_code(notes)
  code_mask = jnp.repeat(mask.reshape(-1), NUM_PITCHES)
  w = dkm.solve_address(memory.mean, code, code_mask, obs_noise_std=noise, method="cholesky")
  readout = (w @ memory.mean).reshape(num_steps, NUM_VOICES, NUM_PITCHES)
  return _features(readout, notes, mask)


def window_context(windows: jax.Array, valid: jax.Array, notes: jax.Array, mask: jax.Array,
                   addresses: jax.Array, noise: float) -> jax.Array:
  """`read_context(write(windows, valid, addresses, noise), notes, mask, noise)` without forming
  the K x (S * 4 * 46) memory.

  From MN(0, I, I) the write gives R = A Z, A = (W^T W + sigma^2 I)^-1 W^T [K, T] (W the valid
  slots' addresses, Z the windows' one-hot codes); the ridge read needs R_o R_o^T = A G A^T and
  R_o x_o = A h, where G [T, T] counts the given entries on which two stored windows agree and
  h [T] those on which each agrees with the cue; the read-out R^T w = Z^T (A^T w) puts weight
  (A^T w)_t on each stored window's pitch. Everything is T x T or K x K and integer compares.
  """
  num_rows = addresses.shape[-1]
  eye = jnp.eye(num_rows, dtype=jnp.float32)
  w = addresses * valid[:, None].astype(jnp.float32)
  a = spd.system(w.T @ w + noise**2 * eye, "xla").solve(w.T)  # [K, T]
  given = mask != 0
  agree = (windows[:, None] == windows[None]) & given
  g = jnp.sum(agree.reshape(agree.shape[:2] + (-1,)), axis=-1, dtype=jnp.int32)
  h = jnp.sum(((windows == notes) & given).reshape(len(windows), -1), axis=-1,
              dtype=jnp.int32)
  gram = a @ g.astype(jnp.float32) @ a.T + noise**2 * eye
  weights = a.T @ spd.system(gram, "xla").solve(a @ h.astype(jnp.float32))  # [T]
  entries = notes.size
  index = jnp.arange(entries).reshape(notes.shape) * NUM_PITCHES + windows  # [T, S, 4]
  readout = jnp.zeros(entries * NUM_PITCHES, jnp.float32).at[index.reshape(-1)].add(
      jnp.repeat(weights, entries))
  return _features(readout.reshape(notes.shape + (NUM_PITCHES,)), notes, mask)


def off_context(lead_shape: tuple, num_steps: int) -> jax.Array:
  """The memory-off context [*lead, S, CONTEXT_FEATURES]: zeros."""
  return jnp.zeros(tuple(lead_shape) + (num_steps, CONTEXT_FEATURES), jnp.float32)


def contexts(windows: jax.Array, valid: jax.Array, notes: jax.Array, mask: jax.Array,
             addresses: jax.Array, noise: float) -> jax.Array:
  """[B, S, CONTEXT_FEATURES]: each cue (notes, mask [B, S, 4]) read from the memory of its own
  stored windows [B, L, S, 4] (valid [B, L]); a cue with no valid window gets the off context."""
  def one(w, v, n, m):
    ctx = window_context(w, v, n, m, addresses, noise)
    return jnp.where(jnp.any(v), ctx, jnp.zeros_like(ctx))
  return jax.vmap(one)(windows, valid, notes, mask)


def memory_bytes(num_rows: int, episode_steps: int) -> int:
  """float32 bytes of one memory: the mean K x (S * 4 * 46) and the covariance K x K."""
  return 4 * num_rows * (episode_steps * NUM_VOICES * NUM_PITCHES + num_rows)


def list_bytes(num_windows: float, episode_steps: int) -> float:
  """Bytes of the list of `num_windows` stored windows (a mean may be fractional): one byte per
  pitch."""
  return num_windows * episode_steps * NUM_VOICES


class MemoryConfig(NamedTuple):
  """The memory of `config.prior` (rows 0: no memory)."""
  num_rows: int
  num_slots: int
  noise: float
  mode_mix: tuple

  @classmethod
  def of(cls, prior_config: ConfigDict) -> "MemoryConfig":
    """`config.prior`'s memory; a config without the memory fields has none."""
    rows = int(prior_config.get("memory_rows", 0))
    if not rows:
      return cls(0, 0, 1.0, (1.0, 0.0, 0.0))
    return cls(rows, int(prior_config.memory_slots), float(prior_config.memory_noise),
               tuple(prior_config.memory_mode_mix))


def training_windows(grid: ChoraleGrid, target_rows: jax.Array, rng: jax.Array,
                     memory: MemoryConfig, episode_steps: int, max_semitones: int,
                     ranges: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(targets [B, S, 4], stored [B, L + 1, S, 4], valid [B, L + 1]) for windows starting at
  `target_rows` [B]: each chorale transposed as a whole (one shift for the target and its
  stored windows), and each example's memory drawn from MODES with `memory.mode_mix` (the last
  slot holds the target itself, valid only in "stored")."""
  rng_shift, rng_mode = jax.random.split(rng)
  offsets = jnp.asarray(slot_offsets(memory.num_slots, episode_steps))
  target = grid_windows(grid, target_rows, episode_steps)
  stored, valid = stored_slots(grid, target_rows, offsets, episode_steps)
  # Invalid slots hold the target so that they never narrow the transposition.
  stored = jnp.where(valid[..., None, None], stored, target[:, None])
  joint = jnp.concatenate([target[:, None], stored], axis=1)
  flat = joint.reshape(joint.shape[0], -1, NUM_VOICES)
  joint = pitch_classes.transpose(rng_shift, flat, max_semitones, ranges).reshape(joint.shape)
  mode = jax.random.categorical(rng_mode, jnp.log(jnp.asarray(memory.mode_mix, jnp.float32)),
                                shape=target_rows.shape)
  valid = jnp.concatenate([valid & (mode >= MODES.index("others"))[:, None],
                           (mode == MODES.index("stored"))[:, None]], axis=1)
  return joint[:, 0], jnp.concatenate([joint[:, 1:], joint[:, :1]], axis=1), valid
