"""Music from sampled codes (docs/tcn_wta.md, "Applications", 3-4).

A code is sampled one code step (P input steps; a beat for drums) at a time by a first-order
Markov chain over the training codes: the next step is the successor, in a training window, of a
random training step that has the same strongest atom as the current step and the same position
in the bar. Every sampled step is therefore a k-sparse code the encoder produced, and consecutive
steps follow a transition seen in training. Decoding the code (the dictionary) gives the music.
Structured drums sample each distinct section once and place it wherever its letter recurs, so
repeated sections are identical.
"""

import collections
from typing import NamedTuple

import numpy as np


class CodeBank(NamedTuple):
  atoms: np.ndarray      # [W, T, k] winning atoms of each training code step
  values: np.ndarray     # [W, T, k] their values
  num_atoms: int
  period: int            # code steps per bar (positions repeat with this period)


def transition_tables(bank):
  """({position: [(window, step)]}, {(strongest atom, position of the successor): [(window,
  step of the successor)]}) of the bank's code steps."""
  strongest = bank.atoms[..., 0]
  windows, steps = strongest.shape
  at_position, successors = collections.defaultdict(list), collections.defaultdict(list)
  for w in range(windows):
    for t in range(steps):
      at_position[t % bank.period].append((w, t))
      if t + 1 < steps:
        successors[(int(strongest[w, t]), (t + 1) % bank.period)].append((w, t + 1))
  return at_position, successors


def sample_code(bank, num_steps, rng, start_position=0, tables=None):
  """A dense [num_steps, D] code whose first step sits at `start_position` of the bar.
  `tables`: `transition_tables(bank)`, when sampling the same bank several times."""
  at_position, successors = tables or transition_tables(bank)
  strongest = bank.atoms[..., 0]
  chosen = []
  for i in range(num_steps):
    position = (start_position + i) % bank.period
    candidates = successors.get((int(strongest[chosen[-1]]), position)) if chosen else None
    pool = candidates or at_position[position]  # no seen transition: restart at this position
    chosen.append(pool[rng.integers(len(pool))])
  code = np.zeros((num_steps, bank.num_atoms), np.float32)
  for i, (w, t) in enumerate(chosen):
    code[i, bank.atoms[w, t]] = bank.values[w, t]
  return code


def parse_structure(structure):
  """'AABA' -> ['A', 'A', 'B', 'A']; letters (or digits) only."""
  if not structure or not structure.isalnum():
    raise ValueError(f"Structure {structure!r} must be letters naming sections, e.g. 'AABA'")
  return list(structure.upper())


def structured_code(bank, structure, bars_per_section, rng):
  """(code [sections x bars x period, D], section letters): one sampled code per distinct
  section, placed wherever its letter occurs."""
  letters = parse_structure(structure)
  steps = bars_per_section * bank.period
  tables = transition_tables(bank)
  sections = {letter: sample_code(bank, steps, rng, tables=tables)
              for letter in dict.fromkeys(letters)}
  return np.concatenate([sections[letter] for letter in letters]), letters


def repeated_sections_equal(output, letters, steps_per_section):
  """True when the output's sections with the same letter are identical."""
  first = {}
  for i, letter in enumerate(letters):
    part = output[i * steps_per_section:(i + 1) * steps_per_section]
    if letter in first and not np.array_equal(first[letter], part):
      return False
    first.setdefault(letter, part)
  return True
