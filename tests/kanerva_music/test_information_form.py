"""kanerva_music.memory.information_form: the write past K, equal to the Kalman form in float64
and accurate in float32 where the Kalman form is not."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.memory import dkm
from kanerva_music.memory import information_form


def _problem(rng, k, c, t):
  a = rng.normal(size=(k, k))
  return (dkm.Memory(0.1 * rng.normal(size=(k, c)), a @ a.T / k + 0.5 * np.eye(k)),
          rng.uniform(-1, 1, size=(t, c)), rng.normal(size=(t, k)))


@pytest.mark.parametrize("num_episodes", [3, 20])
@pytest.mark.parametrize("linalg", ["xla", "lapack"])
def test_it_is_the_kalman_write_in_float64(num_episodes, linalg):
  memory, z, w = _problem(np.random.default_rng(num_episodes), 6, 12, num_episodes)
  with jax.enable_x64(True):
    got, kl = jax.jit(lambda m, z, w: information_form.write_with_kl(
        m, z, w, obs_noise_std=0.2, linalg=linalg))(memory, z, w)
    expected, expected_kl = jax.jit(lambda m, z, w: dkm.write_with_kl(
        m, z, w, obs_noise_std=0.2))(memory, z, w)
    np.testing.assert_allclose(np.asarray(got.mean), np.asarray(expected.mean), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(got.cov), np.asarray(expected.cov), atol=1e-12)
    assert float(kl) == pytest.approx(float(expected_kl), rel=1e-9)


def test_past_k_it_keeps_float32_accuracy_that_the_kalman_form_loses():
  memory, z, w = _problem(np.random.default_rng(0), 16, 32, 256)  # T = 16 K
  kalman_write = jax.jit(lambda m, z, w: dkm.write_with_kl(m, z, w, obs_noise_std=0.03))
  with jax.enable_x64(True):
    exact, exact_kl = kalman_write(memory, z, w)
  as32 = lambda x: jnp.asarray(x, jnp.float32)
  memory32 = dkm.Memory(as32(memory.mean), as32(memory.cov))
  ours, kl = jax.jit(lambda m, z, w: information_form.write_with_kl(m, z, w, obs_noise_std=0.03))(
      memory32, as32(z), as32(w))
  kalman, kalman_kl = kalman_write(memory32, as32(z), as32(w))
  error = lambda m: float(np.abs(np.asarray(m.mean) - np.asarray(exact.mean)).max())
  assert error(ours) < 1e-4 and 100 * error(ours) < error(kalman)
  assert float(kl) == pytest.approx(float(exact_kl), rel=1e-4)
  assert abs(float(kalman_kl) / float(exact_kl) - 1) > 0.1  # what the information form fixes
