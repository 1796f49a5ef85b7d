"""How music becomes model input and back: one `Representation` per kind, so that adding one
touches this file (plus the converter that produces its arrays).

- `drums`: the GrooVAE tensor [steps, 27] (9 classes x hit, velocity, offset), MSE, hit F1.
- `roll`: piano rolls [steps, 88] of velocities in [0, 1], MSE, note F1.
- `events`: Performance RNN token ids [events], fed one-hot (388 channels), per-step softmax
  cross-entropy, token accuracy.
- `event_ids`: the same ids as the authors fed them, one channel (id - 224) / 111, MSE; token
  accuracy after rounding back (`configs/maestro.py:authors`).
"""

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from tcn_wta.applications import corruption
from tcn_wta.datasets import groove
from tcn_wta.datasets import maestro
from tcn_wta.datasets import sequences
from tcn_wta.training import metrics


class Representation(NamedTuple):
  name: str
  main_metric: str              # the report's headline reconstruction metric
  to_inputs: Callable           # (windows, channels) -> float model inputs [B, L, C]
  loss: Callable                # (recon, target) -> scalar training loss
  metrics: Callable             # (recon, target) -> {name: value}
  corrupt_batch: Callable       # (windows, rng, drop, add, channels) -> corrupted, in jnp
  corruption_text: Callable     # (drop, add) -> what the corruption did, in words
  to_sequence: Callable         # (array, data_config, qpm) -> NoteSequence
  seconds_of: Callable          # (window, data_config, qpm) -> musical duration
  display: Callable             # (array, data_config) -> [steps, rows] in [0, 1] for figures
  display_rows: str             # what a figure's rows are
  token_ids: bool               # windows hold integer token ids (else real-valued channels)
  # Grids only (None for events): array -> [..., steps, rows] scores whose > 0.5 cells are the
  # played notes / hits, and the velocities of those cells.
  cell_scores: Optional[Callable] = None
  cell_velocities: Optional[Callable] = None
  # Tokens only: (model output, input token ids) -> (how strongly the output supports each input
  # token, the output's own tokens), for cleaning.
  token_scores: Optional[Callable] = None


def _real_valued(windows, channels):
  del channels
  return jnp.asarray(windows).astype(jnp.float32)


def _mse(recon, target):
  return jnp.mean((recon - target) ** 2)


def _one_hot(tokens, channels):
  return jax.nn.one_hot(tokens, channels, dtype=jnp.float32)


def _softmax_cross_entropy(logits, target):
  return jnp.mean(-jnp.sum(target * jax.nn.log_softmax(logits, axis=-1), axis=-1))


def _notes_text(drop, add):
  return f"{round(100 * drop)}% of the notes removed, {round(100 * add)}% spurious ones added"


def _steps_seconds(window, data_config, qpm=sequences.DEFAULT_QPM):
  return len(window) * sequences.step_seconds(data_config, qpm)


def _drum_display(array, data_config):
  del data_config
  n = groove.NUM_CLASSES
  array = np.asarray(array)
  return (array[:, :n] > 0.5) * np.clip(array[:, n:2 * n], 0, 1)


def _grid(name, main_metric, grid_metrics, corrupt_grid, to_sequence, display, display_rows,
          cell_scores, cell_velocities):
  """A real-valued [steps, channels] grid: MSE, notes removed and added, steps x step length."""
  return Representation(
      name=name, main_metric=main_metric, to_inputs=_real_valued, loss=_mse,
      metrics=grid_metrics,
      corrupt_batch=lambda w, rng, drop, add, channels: corrupt_grid(w, rng, drop, add),
      corruption_text=_notes_text, to_sequence=to_sequence, seconds_of=_steps_seconds,
      display=display, display_rows=display_rows, token_ids=False, cell_scores=cell_scores,
      cell_velocities=cell_velocities)


DRUMS = _grid(
    "drums", "hit_f1", metrics.drum_metrics, corruption.corrupt_drums,
    lambda a, data_config, qpm=sequences.DEFAULT_QPM: groove.tensor_to_sequence(np.asarray(a), qpm),
    _drum_display, "drum class",
    cell_scores=lambda a: a[..., :groove.NUM_CLASSES],
    cell_velocities=lambda a: a[..., groove.NUM_CLASSES:2 * groove.NUM_CLASSES])

ROLL = _grid(
    "roll", "roll_f1", metrics.roll_metrics, corruption.corrupt_roll,
    lambda a, data_config, qpm=sequences.DEFAULT_QPM: sequences.roll_to_sequence(
        np.clip(np.asarray(a), 0, 1), sequences.step_seconds(data_config, qpm)),
    lambda a, data_config: np.clip(np.asarray(a), 0, 1), "key",
    cell_scores=lambda a: a, cell_velocities=lambda a: a)


def _events_to_sequence(array, data_config=None, qpm=None):
  """Token ids, or logits / one-hot rows (their argmax is played)."""
  del data_config, qpm
  array = np.asarray(array)
  return maestro.events_to_sequence(array if array.ndim == 1 else np.argmax(array, axis=-1))


EVENTS = Representation(
    name="events", main_metric="event_accuracy", to_inputs=_one_hot,
    loss=_softmax_cross_entropy, metrics=metrics.event_metrics,
    corrupt_batch=lambda w, rng, drop, add, channels: corruption.corrupt_events(
        w, rng, channels, drop),
    corruption_text=lambda drop, add: f"{round(100 * drop)}% of the events replaced by random ones",
    to_sequence=_events_to_sequence,
    seconds_of=lambda w, data_config, qpm=None: float(maestro.time_shift_seconds(np.asarray(w))),
    display=lambda a, data_config: maestro.sequence_to_roll(_events_to_sequence(a), 16),
    display_rows="key", token_ids=True,
    token_scores=lambda logits, tokens: (
        jnp.take_along_axis(jax.nn.softmax(logits, -1), tokens[..., None].astype(jnp.int32),
                            -1)[..., 0],
        jnp.argmax(logits, -1)))

# The authors' one-channel input: token ids scaled to about [-2, 1.5], MSE (docs/tcn_wta.md,
# "Addendum"); an id is read back by rounding.
ID_CENTRE, ID_SCALE = 224.0, 111.0


def _scaled_ids(tokens, channels):
  del channels
  return ((jnp.asarray(tokens).astype(jnp.float32) - ID_CENTRE) / ID_SCALE)[..., None]


def _ids_of(values):
  ids = jnp.round(values[..., 0] * ID_SCALE + ID_CENTRE)
  return jnp.clip(ids, 0, maestro.NUM_EVENTS - 1).astype(jnp.int32)


def _scaled_ids_to_sequence(array, data_config=None, qpm=None):
  """Token ids, or the model's scaled outputs [L, 1] (rounded back to ids)."""
  del data_config, qpm
  array = np.asarray(array)
  return maestro.events_to_sequence(array if array.ndim == 1 else np.asarray(_ids_of(array)))


EVENT_IDS = EVENTS._replace(
    name="event_ids", to_inputs=_scaled_ids, loss=_mse,
    metrics=lambda recon, target: {"event_accuracy": jnp.mean(_ids_of(recon) == _ids_of(target))},
    corrupt_batch=lambda w, rng, drop, add, channels: corruption.corrupt_events(
        w, rng, maestro.NUM_EVENTS, drop),
    to_sequence=_scaled_ids_to_sequence,
    display=lambda a, data_config: maestro.sequence_to_roll(_scaled_ids_to_sequence(a), 16),
    # The output's distance from the input id, in ids (negated: higher supports it more).
    token_scores=lambda out, tokens: (-jnp.abs(out[..., 0] * ID_SCALE + ID_CENTRE - tokens),
                                      _ids_of(out)))

REPRESENTATIONS = {r.name: r for r in (DRUMS, ROLL, EVENTS, EVENT_IDS)}


def get(name):
  """The Representation called `name`."""
  if name not in REPRESENTATIONS:
    raise ValueError(f"Unknown representation {name!r}; expected one of {tuple(REPRESENTATIONS)}")
  return REPRESENTATIONS[name]


def of(data_config):
  """The Representation of a config's data section."""
  return get(data_config.representation)


def corrupt(windows, representation, seed, drop=0.2, add=0.2, channels=None):
  """Each window corrupted independently, reproducibly from `seed` (docs/tcn_wta.md,
  "Applications", 1), as a NumPy array."""
  rep = get(representation) if isinstance(representation, str) else representation
  corrupt_batch = jax.jit(rep.corrupt_batch, static_argnames="channels")
  return np.asarray(corrupt_batch(jnp.asarray(windows), jax.random.PRNGKey(seed), drop, add,
                                  channels=channels))


def display_time_label(data_config) -> str:
  """The time axis of a figure of `display(...)` rows: 16th-note steps or frames."""
  if data_config.dataset == "maestro":
    fps = 16 if data_config.representation in ("events", "event_ids") else (
        data_config.frames_per_second)
    return f"frame (1/{fps:g} s)"
  return "16th-note step"
