"""tcn_wta.applications.markov_codes: sampled and structured codes."""

import numpy as np
import pytest

from tcn_wta.applications import markov_codes
from tests.tcn_wta import made_up


def test_sampled_codes_are_training_steps_joined_by_seen_transitions():
  # Without bar positions every atom has a seen successor, so the chain never restarts.
  code = markov_codes.sample_code(made_up.bank(period=1), 12, np.random.default_rng(0))
  assert code.shape == (12, 5)
  winners = np.argmax(code, axis=1)
  assert np.all(np.sum(code != 0, axis=1) == 1) and np.all(code.max(1) == 2.0)
  # In the bank every transition goes from atom a to atom a + 1 (mod 5).
  np.testing.assert_array_equal(winners[1:], (winners[:-1] + 1) % 5)
  # With 4 positions per bar, step i of the sample is a training step at position i % 4.
  code = markov_codes.sample_code(made_up.bank(period=4), 12, np.random.default_rng(0))
  at_position = {p: {(w + t) % 5 for w in range(2) for t in range(p, 8, 4)} for p in range(4)}
  assert all(np.argmax(code[i]) in at_position[i % 4] for i in range(12))


def test_structured_code_repeats_sections_and_rejects_bad_structures():
  code, letters = markov_codes.structured_code(made_up.bank(), "aaba", 2, np.random.default_rng(1))
  assert letters == ["A", "A", "B", "A"] and code.shape == (32, 5)
  assert markov_codes.repeated_sections_equal(code, letters, 8)
  changed = code.copy()
  changed[24, :] = 0
  assert not markov_codes.repeated_sections_equal(changed, letters, 8)
  with pytest.raises(ValueError, match="must be letters"):
    markov_codes.parse_structure("A-B")
