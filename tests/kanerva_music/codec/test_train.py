"""kanerva_music.codec.train: a tiny trained codec recalls its stored episodes; its code length
is the conditional one plus the memory's KL."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.codec import evaluate as codec_evaluate
from kanerva_music.codec import networks
from kanerva_music.codec import train as codec_train
from kanerva_music.data import pitch_classes
from kanerva_music.evaluation import evaluate
from tests.conftest import tiny_codec_config
from tests.kanerva_music.test_codec import S


def test_a_tiny_trained_codec_recalls_its_stored_episodes(chord_chorale_npz, tmp_path):
  config = tiny_codec_config(chord_chorale_npz, num_train_steps=2500)
  config.learning_rate = 3e-3
  config.codec.block_features, config.codec.embed, config.codec.dropout = 16, 8, 0.0
  config.codec.encoder_hidden, config.codec.decoder_hidden = 32, 64
  config.codec.decoder_width = 16
  config.checkpoint_every_steps = 2500
  config.eval_every_steps = 10_000
  trained = codec_train.train_and_evaluate(config, str(tmp_path / "wd"))
  stored = np.asarray(pitch_classes.from_normalised(jnp.asarray(trained.eval_sets["test"]), S))
  novel = np.asarray(pitch_classes.from_normalised(jnp.asarray(trained.eval_sets["validation"]), S))
  half = codec_evaluate.note_masks(evaluate.observation_mask("half", len(stored), S, None), S)
  complete, nll = codec_evaluate.complete_section(trained, config, stored, novel,
                                                  {"half": half})
  recall = complete["half"]["encoder"]["recall"]["acc_exact"][-1]
  unseen = complete["half"]["encoder"]["novel"]["acc_exact"][-1]
  memory_off = complete["half"]["memory_off"]["recall"]["acc_exact"][-1]
  # Random chords: only the memory knows a stored episode's second half (2,500 steps: 56%
  # against 17% with the memory off and 12% unseen).
  assert recall >= memory_off + 0.25 and recall >= unseen + 0.25
  assert nll["stored"] < nll["memory_off"] and nll["stored"] < nll["unseen"]
  bits = trained.elbo["test"]
  # The whole episode's code length is the conditional one plus the memory's KL, and given the
  # memory it beats a uniform code over the 46 pitches.
  assert bits["bits_per_note"] == pytest.approx(
      bits["conditional_bits_per_note"] + bits["kl_memory_bits_per_note"], rel=1e-9)
  assert 0 < bits["conditional_bits_per_note"] < math.log2(networks.NUM_PITCHES)
