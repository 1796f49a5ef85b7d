"""kanerva_music.prior.masks: the training masks' counts, spans and whole voices, and the
whole-voice evaluation masks."""

import jax
import numpy as np
import pytest

from kanerva_music.evaluation import evaluate
from kanerva_music.prior import masks
from tests.kanerva_music.prior.tiny import S


def test_count_masks_hide_between_one_and_every_entry():
  got = np.asarray(masks.count_masks(jax.random.PRNGKey(0), (4000, S, 4)))
  hidden = (got == 0).reshape(4000, -1).sum(-1)
  assert hidden.min() >= 1 and hidden.max() <= S * 4
  assert set(np.unique(hidden)) == set(range(1, S * 4 + 1))  # every count occurs


def test_span_masks_hide_one_run_of_steps_in_every_voice():
  got = np.asarray(masks.span_masks(jax.random.PRNGKey(1), (500, S, 4)))
  assert (got == got[..., :1]).all()  # all voices alike
  for episode in got[..., 0]:
    hidden = np.flatnonzero(episode == 0)
    assert 1 <= len(hidden) <= S and np.all(np.diff(hidden) == 1)


def test_voice_masks_give_soprano_bass_or_both():
  got = np.asarray(masks.voice_masks(jax.random.PRNGKey(2), (300, S, 4)))
  assert (got == got[:, :1]).all()  # the same voices at every step
  seen = {tuple(int(v) for v in episode[0]) for episode in got}
  assert seen == set(masks.GIVEN_VOICE_SETS)


def test_training_masks_follow_the_mix():
  shape = (64, S, 4)
  key = jax.random.PRNGKey(3)
  rngs = jax.random.split(key, 1 + len(masks.KINDS))[1:]
  only = {0: masks.count_masks(rngs[0], shape), 1: masks.span_masks(rngs[1], shape),
          2: masks.voice_masks(rngs[2], shape)}
  for kind, expected in only.items():
    mix = [0.0] * 3
    mix[kind] = 1.0
    np.testing.assert_array_equal(masks.training_masks(key, shape, mix), expected)
  with pytest.raises(ValueError, match="one probability per kind"):
    masks.training_masks(key, shape, (1.0, 0.0))


@pytest.mark.parametrize("name,voices", [("soprano", {0}), ("bass", {3}), ("outer", {0, 3})])
def test_whole_voice_evaluation_masks_observe_exactly_their_voices(name, voices):
  got = evaluate.observation_mask(name, 3, S, None).reshape(3, S, 4)
  for v in range(4):
    assert (got[..., v] == float(v in voices)).all()


def test_given_voices_mask_reads_satb_letters():
  np.testing.assert_array_equal(masks.given_voices_mask("SB", 2), [[1, 0, 0, 1]] * 2)
  with pytest.raises(ValueError, match="letters of SATB"):
    masks.given_voices_mask("X", 2)
