"""Baselines a sceptical reviewer tries first, scored like the DKM's reads (pure JAX).

Every function takes cues [M, T, C] (time-major, 4 voices) and the observation mask [M, C] of
each memory (1 = observed; all ones for denoising) and returns estimates [M, T, C]; `estimate`
keeps the observed entries of a completion cue, so baselines are scored on exactly the entries
the DKM is scored on:
* `hold_last_chord`: each voice holds its last observed pitch (its next one before the first);
* `train_mean`: the per-position mean of the training windows;
* `nearest_stored`: the stored episode of the same memory closest on the observed entries;
* `nearest_train`: the training window closest on the observed entries;
* `modern_hopfield`: softmax attention over the memory's stored episodes, scores
  -beta/2 ||m * (x - s)||^2 (Ramsauer et al. 2020, "Hopfield Networks is All You Need"),
  beta chosen on the validation split by `choose_beta`;
* `parallel_motion`: each hidden entry at its voice's median training interval from the
  nearest given voice of the same step (holding the last chord where a step gives none): the
  harmonisation baseline of the whole-voice masks;
* `median_filter` (denoising): the median of three consecutive steps of each voice.
"""


import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.evaluation import evaluate
from kanerva_music.evaluation import pitch_metrics
from music_runtime.running import compile_ahead
from music_runtime.training import sharding

NUM_VOICES = 4
COMPLETION_BASELINES = ("hold_last_chord", "train_mean", "nearest_stored", "nearest_train",
                        "modern_hopfield", "parallel_motion")
DENOISE_BASELINES = ("cue", "median_filter", "train_mean", "nearest_stored", "nearest_train",
                     "modern_hopfield")
BETAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


@jax.jit
def _clamp(estimate, cues, mask):
  return jnp.where(mask[:, None, :] != 0, cues, estimate)


def _steps(x):
  """[..., C] -> [..., S, 4]."""
  return x.reshape(x.shape[:-1] + (-1, NUM_VOICES))


@jax.jit
def hold_last_chord(cues, mask):
  """Each masked entry takes its voice's last observed value (the next one if none before,
  0 if the voice is never observed)."""
  observed = _steps(mask != 0)  # [M, S, 4]
  num_steps = observed.shape[-2]
  index = jnp.arange(num_steps)[:, None]
  last = jax.lax.cummax(jnp.where(observed, index, -1), axis=1)
  next_ = jax.lax.cummin(jnp.where(observed, index, num_steps), axis=1, reverse=True)
  source = jnp.where(last >= 0, last, next_)
  known = source < num_steps
  source = jnp.minimum(source, num_steps - 1)[:, None]  # [M, 1, S, 4]
  values = jnp.take_along_axis(_steps(cues), jnp.broadcast_to(
      source, _steps(cues).shape), axis=2)
  return jnp.where(known[:, None], values, 0.0).reshape(cues.shape)


@jax.jit
def train_mean(cues, mask, position_mean):
  """The training windows' mean at each position [C]."""
  del mask
  return jnp.broadcast_to(position_mean, cues.shape)


def first_argmin(values, axis=-1):
  """jnp.argmin (the first index of the minimum) as two plain reductions, a min and then a min
  of indices, which XLA:CPU vectorises: nearest_train 0.755 -> 0.500 s per call of the report on
  a 2-core CPU (same process), jnp.argmin's (value, index) reduction being the difference. A NaN
  counts as -inf, so as in argmin the first NaN wins (unless a -inf comes before it)."""
  values = jnp.where(jnp.isnan(values), -jnp.inf, values)
  smallest = jnp.min(values, axis=axis, keepdims=True)
  index = jax.lax.broadcasted_iota(jnp.int32, values.shape, axis % values.ndim)
  return jnp.min(jnp.where(values == smallest, index, values.shape[axis]), axis=axis)


def _masked_sq_distances(queries, candidates, mask):
  """||m * (q - s)||^2 [T, N] for queries [T, C], candidates [N, C], one mask [C]."""
  m = (mask != 0).astype(queries.dtype)
  return (jnp.sum(m * queries**2, -1)[:, None] - 2.0 * (queries * m) @ candidates.T
          + (candidates**2) @ m)


@jax.jit
def nearest_stored(cues, mask, stored):
  """The closest stored episode of each memory on the observed entries."""
  def one(q, s, m):
    return s[first_argmin(_masked_sq_distances(q, s, m))]
  return jax.vmap(one)(cues, stored, mask)


@jax.jit
def nearest_train(cues, mask, windows):
  """The closest training window [N, C] on the observed entries. A few memories at a time: one
  [chunk T, C] x [C, N] product (each memory's mask applied to its queries) instead of one per
  memory, 1.4x faster on a 2-core CPU, while memory stays O(chunk T N)."""
  num_memories = cues.shape[0]
  chunk = max(c for c in range(1, 9) if num_memories % c == 0)
  observed = (mask != 0).astype(cues.dtype)
  squared_windows = windows**2

  def one(args):
    q, m = args  # [chunk, T, C], [chunk, C]
    masked = q * m[:, None, :]
    # ||m * (q - s)||^2 as `_masked_sq_distances` computes it, for chunk memories at once.
    cross = (masked.reshape(-1, q.shape[-1]) @ windows.T).reshape(q.shape[:2] + (-1,))
    distances = (jnp.sum(m[:, None, :] * q**2, -1)[..., None] - 2.0 * cross
                 + (m @ squared_windows.T)[:, None, :])
    return windows[first_argmin(distances)]

  out = jax.lax.map(one, (cues.reshape((-1, chunk) + cues.shape[1:]),
                          observed.reshape(-1, chunk, observed.shape[-1])))
  return out.reshape(cues.shape)


@jax.jit
def modern_hopfield(cues, mask, stored, beta):
  """One update of a modern Hopfield network over the stored episodes of each memory."""
  def one(q, s, m):
    weights = jax.nn.softmax(-0.5 * beta * _masked_sq_distances(q, s, m), axis=-1)
    return weights @ s
  return jax.vmap(one)(cues, stored, mask)


def median_intervals(windows) -> np.ndarray:
  """[4, 4] the median of voice v's pitch minus voice g's over every step of the normalised
  windows [N, C], in semitones, returned in normalised units (2/45 a semitone)."""
  pitches = np.rint(_steps(np.asarray(episodes.denormalise(np.asarray(windows, np.float64))))
                    ).reshape(-1, NUM_VOICES)
  semitones = np.array([[_median_of_integers(pitches[:, v] - pitches[:, g])
                         for g in range(NUM_VOICES)] for v in range(NUM_VOICES)])
  return (semitones * 2.0 / (episodes.PITCH_HIGH - episodes.PITCH_LOW)).astype(np.float32)


def _median_of_integers(values: np.ndarray) -> float:
  """np.median of integer-valued values [N] (NaN if any is NaN), from their counts: a pass
  over the data instead of a partition of every column of the training set."""
  if not np.all(np.isfinite(values)):
    return float("nan")
  low = values.min()
  below = np.cumsum(np.bincount((values - low).astype(np.int64)))  # entries <= low + i
  middle = (len(values) - 1) // 2, len(values) // 2                 # sorted positions
  return float(low + np.mean([np.searchsorted(below, k, side="right") for k in middle]))


@jax.jit
def parallel_motion(cues, mask, intervals):
  """Each masked entry at intervals[v, g] from the given voice g of its step nearest to v
  (the higher voice on a tie); a step with no given voice holds the last chord."""
  observed = _steps(mask != 0)  # [M, S, 4]
  voices = jnp.arange(NUM_VOICES)
  distance = jnp.abs(voices[:, None] - voices[None, :]) + 0.5 * (voices[None, :] > voices[:, None])
  distance = jnp.where(observed[..., None, :], distance, jnp.inf)  # [M, S, v, g]
  source = first_argmin(distance)  # [M, S, v]
  steps = _steps(cues)  # [M, T, S, 4]
  index = jnp.broadcast_to(source[:, None], steps.shape)
  estimate = jnp.take_along_axis(steps, index, axis=-1) + intervals[voices, source][:, None]
  held = _steps(hold_last_chord(cues, mask))
  any_given = jnp.any(observed, axis=-1)[:, None, :, None]
  return jnp.where(any_given, estimate, held).reshape(cues.shape)


@jax.jit
def median_filter(cues, mask):
  """Median of steps s-1, s, s+1 of each voice (edges repeat themselves)."""
  del mask
  steps = _steps(cues)
  padded = jnp.concatenate([steps[..., :1, :], steps, steps[..., -1:, :]], axis=-2)
  window = jnp.stack([padded[..., :-2, :], padded[..., 1:-1, :], padded[..., 2:, :]])
  return jnp.median(window, axis=0).reshape(cues.shape)


class Context:
  """What the baselines need besides the cues: the training windows [N, C], their per-position
  mean, their median intervals between voices, and Hopfield's beta."""

  def __init__(self, train_windows, beta=None):
    self.train_windows = jnp.asarray(train_windows, jnp.float32)
    self.position_mean = jnp.mean(self.train_windows, axis=0)
    self.intervals = jnp.asarray(median_intervals(train_windows))
    self.beta = beta


_FUNCTIONS = {"hold_last_chord": hold_last_chord, "median_filter": median_filter}


def _estimate(name, cues, mask, stored, train_windows, position_mean, intervals, beta, denoise):
  if name == "cue":
    out = cues
  elif name in _FUNCTIONS:
    out = _FUNCTIONS[name](cues, mask)
  elif name == "train_mean":
    out = train_mean(cues, mask, position_mean)
  elif name == "nearest_stored":
    out = nearest_stored(cues, mask, stored)
  elif name == "nearest_train":
    out = nearest_train(cues, mask, train_windows)
  elif name == "modern_hopfield":
    out = modern_hopfield(cues, mask, stored, beta)
  elif name == "parallel_motion":
    out = parallel_motion(cues, mask, intervals)
  else:
    raise ValueError(f"Unknown baseline {name!r}")
  return out if denoise else _clamp(out, cues, mask)


def _arguments(cues, mask, stored, context, beta):
  """The arrays of a baseline's program; beta defaults to the context's."""
  if beta is None and context is not None:
    beta = context.beta
  return (jnp.asarray(cues, jnp.float32), jnp.asarray(mask, jnp.float32),
          jnp.asarray(stored, jnp.float32),
          None if context is None else context.train_windows,
          None if context is None else context.position_mean,
          None if context is None else context.intervals,
          None if beta is None else jnp.asarray(beta, jnp.float32))


def estimate(name, cues, mask, stored, context, beta=None, *, denoise=False):
  """The baseline `name`'s estimates [M, T, C]; a completion keeps the cue's observed entries."""
  return _estimate(name, *_arguments(cues, mask, stored, context, beta), denoise)


def _scored(targets, cues, mask, stored, train_windows, position_mean, intervals, beta, *, name,
            denoise):
  """A baseline's estimates and their `pitch_metrics.iteration_metrics` on the masked entries (every
  entry when denoising), as one program."""
  out = _estimate(name, cues, mask, stored, train_windows, position_mean, intervals, beta,
                  denoise)
  scored = jnp.ones((1, 1, 1), bool) if denoise else mask[:, None, :] == 0
  return pitch_metrics.iteration_metrics(targets, out[None], scored)


_score_program = jax.jit(_scored, static_argnames=("name", "denoise"))


_quickly_compiled_score_program = sharding.quick_jit(_scored, static_argnames=("name", "denoise"))


def score_call(name, targets, cues, mask, stored, context, beta=None, quick_compile=False):
  """The program of `score` and its arguments (a `compile_ahead.Call`); `quick_compile` for the
  many small programs of the capacity curves (`sharding.quick_compile_options`)."""
  denoise = mask is None
  if denoise:
    mask = np.ones((np.shape(cues)[0], np.shape(cues)[-1]), np.float32)
  program = _quickly_compiled_score_program() if quick_compile else _score_program
  return compile_ahead.call(program, jnp.asarray(targets, jnp.float32),
                            *_arguments(cues, mask, stored, context, beta), name=name,
                            denoise=denoise)


def score(name, targets, cues, mask, stored, context, beta=None):
  """{acc_exact, acc_1, acc_2, mse} of a baseline: a completion (mask [M, C]) on its masked
  entries, denoising (mask None) on every entry."""
  metrics = score_call(name, targets, cues, mask, stored, context, beta)()
  return {k: float(metrics[k][0]) for k in pitch_metrics.METRICS}


def choose_beta(stored, novel, mask, context, betas=BETAS):
  """The beta of `modern_hopfield` with the best mean of stored and unseen exact accuracy,
  on the given (validation) memories; returns (beta, {beta: that mean})."""
  exact = lambda beta, x: score("modern_hopfield", x, x, mask, stored, context, beta)["acc_exact"]
  return evaluate.best_on_validation(betas, lambda beta: (exact(beta, stored), exact(beta, novel)))


def evaluate_baselines(stored, novel, tasks, context):
  """report["baselines"]: {mask: {name: {recall, novel}: metrics}, "denoise": {name: metrics}}."""
  stored = jnp.asarray(stored, jnp.float32)
  novel = jnp.asarray(novel, jnp.float32)
  results = {}
  for mask_name, mask in tasks["masks"].items():
    results[mask_name] = {
        name: {query: score(name, x, x, mask, stored, context)
               for query, x in (("recall", stored), ("novel", novel))}
        for name in COMPLETION_BASELINES}
  results["denoise"] = {name: score(name, stored, tasks["denoise_cue"], None, stored, context)
                        for name in DENOISE_BASELINES}
  return results
