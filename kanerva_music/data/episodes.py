"""Episodes: 2-bar windows of a chorale, normalised and flattened (docs/dkm.md, "Episodes").

An episode is S consecutive 16th-note steps of I = 4 voices, flattened time-major
(x[4 s + i] = voice i at step s) and scaled from MIDI [36, 81] to [-1, 1]. Sampling runs on
device with `jax.random` so that it lives inside the jitted training step.
"""

from typing import NamedTuple

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from music_runtime.training import sharding

PITCH_LOW = 36
PITCH_HIGH = 81
RESTS_POLICIES = ("skip", "hold")


def normalise(pitch):
  """MIDI pitch -> [-1, 1]; one semitone is 2 / 45."""
  return 2.0 * (pitch - PITCH_LOW) / (PITCH_HIGH - PITCH_LOW) - 1.0


def denormalise(x):
  """[-1, 1] -> MIDI pitch (not rounded)."""
  return (x + 1.0) * (PITCH_HIGH - PITCH_LOW) / 2.0 + PITCH_LOW


def to_pitches(x):
  """Normalised values -> integer MIDI pitches, rounded and clipped to the model's range."""
  return np.clip(np.rint(denormalise(np.asarray(x, np.float64))), PITCH_LOW, PITCH_HIGH).astype(
      np.int64)


class EpisodePool(NamedTuple):
  """All windows of one split, as device arrays (a pytree, so it can enter `jit`)."""
  steps: jax.Array           # [N, 4] normalised pitches of all chorales, concatenated
  window_starts: jax.Array   # [W] row of `steps` where each valid window starts, grouped by chorale
  chorale_offsets: jax.Array  # [P + 1] windows of chorale p are window_starts[off[p]:off[p+1]]


def _hold_rests(chorale):
  """Fills rests with the voice's previous pitch (its next one at the very start)."""
  filled = chorale.copy()
  for voice in range(filled.shape[1]):
    column = filled[:, voice]
    valid = np.flatnonzero(np.isfinite(column))
    if valid.size == 0:
      continue
    idx = np.maximum.accumulate(np.where(np.isfinite(column), np.arange(len(column)), -1))
    idx[idx < 0] = valid[0]
    filled[:, voice] = column[idx]
  return filled


class EpisodeDataError(ValueError):
  """A split with no usable window (all rests, or chorales shorter than an episode)."""


def make_pool(chorales, episode_steps, rests="skip", name=""):
  """Indexes every window of `episode_steps` steps; rests="skip" drops windows with a rest."""
  if rests not in RESTS_POLICIES:
    raise ValueError(f"data.rests={rests!r}; expected one of {RESTS_POLICIES}")
  steps, starts, offsets = [], [], [0]
  row, total, dropped = 0, 0, 0
  for chorale in chorales:
    if rests == "hold":
      chorale = _hold_rests(chorale)
    num_windows = len(chorale) - episode_steps + 1
    if num_windows > 0:
      has_rest = np.isnan(chorale).any(axis=1).astype(np.int64)
      rests_in_window = np.convolve(has_rest, np.ones(episode_steps, np.int64), mode="valid")
      ok = np.flatnonzero(rests_in_window == 0)
      total += num_windows
      dropped += num_windows - ok.size
      if ok.size:
        starts.append(row + ok)
        offsets.append(offsets[-1] + ok.size)
    steps.append(normalise(chorale))
    row += len(chorale)
  if len(offsets) == 1:
    longest = max((len(c) for c in chorales), default=0)
    raise EpisodeDataError(
        f"split {name!r} has no window of config.data.episode_steps = {episode_steps} steps "
        f"without a rest (its longest chorale has {longest} steps; config.data.rests = "
        f"{rests!r}): use shorter episodes, config.data.rests=hold, or other data")
  logging.info("Split %s: %d windows of %d steps from %d chorales; %d dropped for rests (%s)",
               name, offsets[-1], episode_steps, len(offsets) - 1, dropped, rests)
  return EpisodePool(
      steps=jnp.asarray(np.concatenate(steps), jnp.float32),
      window_starts=jnp.asarray(np.concatenate(starts), jnp.int32),
      chorale_offsets=jnp.asarray(offsets, jnp.int32))


def sample_window_starts(pool, rng, shape):
  """[*shape] rows of `pool.steps` where windows start: a uniform chorale, then a uniform
  window within it."""
  rng_chorale, rng_window = jax.random.split(rng)
  num_chorales = pool.chorale_offsets.shape[0] - 1
  chorale = jax.random.randint(rng_chorale, shape, 0, num_chorales)
  first, last = pool.chorale_offsets[chorale], pool.chorale_offsets[chorale + 1]
  u = jax.random.uniform(rng_window, shape)
  window = jnp.minimum(first + (u * (last - first)).astype(jnp.int32), last - 1)
  return pool.window_starts[window]


def sample_episodes(pool, rng, shape, episode_steps):
  """Uniform chorale, then uniform window within it; returns [*shape, episode_steps * 4]."""
  starts = sample_window_starts(pool, rng, shape)
  rows = starts[..., None] + jnp.arange(episode_steps)
  return pool.steps[rows].reshape(*shape, episode_steps * pool.steps.shape[-1])


def pool_windows(pool, episode_steps):
  """Every window of an EpisodePool as a host array [W, episode_steps * 4]."""
  steps, starts = np.asarray(pool.steps), np.asarray(pool.window_starts)
  return steps[starts[:, None] + np.arange(episode_steps)].reshape(len(starts), -1)


# One program per shape: run op by op, a draw compiled about thirty tiny programs (the report
# draws a dozen shapes); at XLA's quick level each compiles in 0.15 s instead of 0.3-0.45 s,
# with the same draws (integer and exact float ops).
_sample_jitted = sharding.quick_jit(sample_episodes, static_argnums=(2, 3))


def evaluation_set(pool, seed, num_memories, episodes_per_memory, episode_steps):
  """A fixed, seeded set [num_memories, T, C], identical across runs and read methods."""
  return _sample_jitted()(pool, jax.random.PRNGKey(seed), (num_memories, episodes_per_memory),
                        episode_steps)
