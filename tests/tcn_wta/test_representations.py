"""tcn_wta.datasets.representations: round trips, display rolls and corruption of each
representation."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from tcn_wta.datasets import representations


def test_display_roll_of_drums_is_hits_times_velocity():
  out = np.zeros((4, 27), np.float32)
  out[1, 0], out[1, 9], out[2, 9] = 0.9, 0.5, 0.8  # step 2 has velocity but no hit
  shown = representations.DRUMS.display(out, None)
  assert shown[1, 0] == 0.5 and shown.sum() == 0.5


@pytest.mark.parametrize("name", sorted(representations.REPRESENTATIONS))
def test_each_representation_round_trips_and_scores_a_perfect_reconstruction(name):
  rep = representations.get(name)
  rng = np.random.default_rng(0)
  config = ml_collections.ConfigDict({"representation": name, "frames_per_second": 16,
                                      "dataset": "maestro" if name != "drums" else "groove"})
  if rep.token_ids:
    window, channels = rng.integers(0, 388, 64), 388 if name == "events" else 1
  else:
    channels = 27 if name == "drums" else 88
    window = (rng.random((64, channels)) < 0.1).astype(np.float32)
    if name == "drums":
      window[:, 9:18] = window[:, :9] * 0.8
  x = rep.to_inputs(window[None], channels)
  assert x.shape == (1, 64, channels) and x.dtype == jnp.float32
  assert rep.main_metric in rep.metrics(x, x)
  assert float(rep.metrics(x, x)[rep.main_metric]) == pytest.approx(1.0)
  assert float(rep.loss(x, x)) <= float(rep.loss(jnp.zeros_like(x), x))
  assert rep.display(window, config).ndim == 2
  assert rep.seconds_of(window, config) > 0
  with pytest.raises(ValueError, match="Unknown representation 'midi'"):
    representations.get("midi")


@pytest.mark.parametrize("representation", ["drums", "roll"])
def test_corruption_drops_and_adds_exact_fractions(representation):
  rng = np.random.default_rng(0)
  window = np.zeros((64, 27 if representation == "drums" else 88), np.float32)
  cells = window[:, :9] if representation == "drums" else window
  cells[rng.random(cells.shape) < 0.2] = 1.0
  if representation == "drums":
    window[:, 9:18] = cells * 0.6
    window[:, 18:] = cells * 0.1
  played = window[:, :9] > 0.5 if representation == "drums" else window > 0.5
  out = representations.corrupt(window[None], representation, seed=3)[0]
  now = out[:, :9] > 0.5 if representation == "drums" else out > 0.5
  assert np.sum(played & ~now) == round(0.2 * played.sum())
  assert np.sum(now & ~played) == round(0.2 * played.sum())
  if representation == "drums":
    dropped = played & ~now
    assert np.all(out[:, 9:18][dropped] == 0) and np.all(out[:, 18:][dropped] == 0)
    np.testing.assert_allclose(out[:, 9:18][now & ~played], 0.6, rtol=1e-6)
  again = representations.corrupt(window[None], representation, seed=3)[0]
  np.testing.assert_array_equal(out, again)


def test_event_corruption_replaces_a_fifth_of_tokens():
  tokens = np.zeros((4, 1000), np.int16)
  out = representations.corrupt(tokens, "events", seed=0, channels=388)
  assert 0.17 < np.mean(out != 0) < 0.23 and out.max() < 388
