"""Made-up pieces, code banks and random models for the TCN applications' tests."""

import importlib
import os
import types

import numpy as np

from music_runtime.files import dataset_cache
from tcn_wta.applications import markov_codes
from tcn_wta.training import train


SHARED_GROOVE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                             "groove")


def pieces(arrays, labels):
  return dataset_cache.Pieces(np.concatenate(arrays), np.array([len(a) for a in arrays]),
                              {name: np.array(v) for name, v in labels.items()})


def bank(period=4):
  # 2 windows x 8 code steps, k = 1, 5 atoms; code step t of window w uses atom (w + t) % 5.
  atoms = np.array([[[(w + t) % 5] for t in range(8)] for w in range(2)])
  return markov_codes.CodeBank(atoms, np.ones_like(atoms, np.float32) * 2.0, 5, period)


def random_model(config_name, channels, tcn=(4,), atoms=12, k=3):
  config = importlib.import_module(f"configs.{config_name}").get_config()
  config.model.num_atoms, config.model.tcn_features = atoms, tcn
  config.model.k.k_start = config.model.k.k_end = k
  config.data.window, config.batch_size = 16, 4
  config.analysis.midi_size_windows = 4
  net = train.build_model(config, channels)
  params = train.create_state(config, net)["params"]
  return config, types.SimpleNamespace(net=net, params=params, k=k, step=0)


def grid():
  """2 windows of 2 bars x 4 steps x 2 rows: row 0 plays step 0 of both bars (recurring), row 1
  plays step 1 of the first bar only (one-off)."""
  played = np.zeros((2, 8, 2), bool)
  played[:, [0, 4], 0] = True
  played[:, 1, 1] = True
  return played


def write_piano_midi(path, rng, num_notes=40):
  import note_seq  # pylint: disable=import-outside-toplevel
  seq = note_seq.NoteSequence()
  seq.tempos.add(qpm=120)
  t = 0.0
  for _ in range(num_notes):
    t += float(rng.choice([0.05, 0.12, 0.3]))
    seq.notes.add(pitch=int(rng.integers(40, 90)), velocity=int(rng.integers(20, 120)),
                  start_time=t, end_time=t + float(rng.choice([0.1, 0.25, 0.6])))
  seq.total_time = t + 1
  note_seq.sequence_proto_to_midi_file(seq, str(path))
