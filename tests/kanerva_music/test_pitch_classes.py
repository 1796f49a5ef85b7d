"""kanerva_music.data.pitch_classes: transposition within the voices' ranges, the ranges."""

import jax
import jax.numpy as jnp
import numpy as np

from kanerva_music.data import pitch_classes

S = 8


def test_transposition_keeps_every_voice_in_its_range():
  rng = np.random.default_rng(4)
  ranges = np.array([[20, 14, 8, 0], [45, 38, 32, 26]], np.int32)
  notes = np.stack([rng.integers(ranges[0, v] + 3, ranges[1, v] - 3, size=(500, S))
                    for v in range(4)], -1).astype(np.int32)
  got = np.asarray(pitch_classes.transpose(jax.random.PRNGKey(5), jnp.asarray(notes), 6,
                                           jnp.asarray(ranges)))
  shift = got - notes
  assert (shift == shift[:, :1, :1]).all()  # one shift per episode
  assert np.abs(shift).max() <= 6 and len(np.unique(shift)) > 6
  assert (got >= ranges[0]).all() and (got <= ranges[1]).all()


def test_voice_ranges_are_the_lowest_and_highest_class_of_each_voice():
  rng = np.random.default_rng(6)
  classes = rng.integers(0, 46, size=(30, S, 4))
  got = pitch_classes.voice_ranges(np.asarray(pitch_classes.to_normalised(classes)), S)
  np.testing.assert_array_equal(got, [classes.min((0, 1)), classes.max((0, 1))])


def test_host_and_device_conversions_are_the_same_classes():
  classes = np.random.default_rng(7).integers(0, 46, size=(5, S, 4)).astype(np.int32)
  host = pitch_classes.to_normalised(classes)
  assert isinstance(host, np.ndarray) and host.dtype == np.float32
  np.testing.assert_array_equal(host, pitch_classes.to_normalised(jnp.asarray(classes)))
  back = pitch_classes.from_normalised(host, S)
  assert isinstance(back, np.ndarray) and back.dtype == np.int32
  np.testing.assert_array_equal(back, classes)
  np.testing.assert_array_equal(jax.jit(pitch_classes.from_normalised, static_argnums=1)(
      jnp.asarray(host), S), classes)
