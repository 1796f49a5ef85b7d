"""tcn_wta.applications.codes: the top-N code, its bytes, a piece's mean code."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from tcn_wta.applications import analysis
from tcn_wta.applications import codes
from tests.conftest import make_net
from tests.tcn_wta import made_up


def test_keep_top_n_matches_numpy_and_all_entries_give_the_code_back():
  code = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (3, 4, 5)))
  for n in (1, 3, 7):
    kept = np.asarray(codes.keep_top_n(jnp.asarray(code), n))
    for b in range(3):
      order = np.argsort(-np.abs(code[b]).ravel())[:n]
      expected = np.zeros(20)
      expected[order] = code[b].ravel()[order]
      np.testing.assert_array_equal(kept[b].ravel(), expected)
  np.testing.assert_array_equal(np.asarray(codes.keep_top_n(jnp.asarray(code), 20)), code)


def test_sparse_code_bytes():
  # 16 code steps (4 bits), 100 atoms (7 bits), float16 value: 27 bits per entry.
  assert codes.entry_bits(16, 100) == 27
  assert codes.sparse_code_bytes(16, 16, 100) == 54
  assert codes.sparse_code_bytes(1, 16, 100) == 4
  assert analysis.top_n_ns(16, 1) == [1, 2, 4, 8, 16]
  assert analysis.top_n_ns(16, 6) == [1, 2, 4, 8, 16, 32, 64, 96]


def test_piece_mean_code_equals_encoding_each_window_alone():
  net = make_net(channels=5, atoms=7, patch=4, tcn=(6,))
  params = net.init(jax.random.PRNGKey(1), jnp.zeros((1, 8, 5)), 2)["params"]
  rng = np.random.default_rng(0)
  arrays = [rng.normal(size=(n, 5)).astype(np.float32) for n in (10, 3, 70)]
  pieces = made_up.pieces(arrays, {"who": ["a", "b", "c"]})
  windows = codes.piece_windows(pieces, 32, 4)
  np.testing.assert_array_equal(windows.valid, [8, 32, 32, 4])  # the 3-step piece is dropped
  config = ml_collections.ConfigDict({"data": {"representation": "roll"}, "batch_size": 3})
  mean_code, raw, present = codes.piece_features(net, params, config, 2, windows)
  np.testing.assert_array_equal(present, [0, 2])
  for row, piece, pieces_windows in ((0, arrays[0][:8], [(0, 8)]),
                                     (1, arrays[2], [(0, 32), (32, 64), (64, 68)])):
    steps = [np.asarray(net.apply({"params": params}, jnp.asarray(piece[a:b][None]), 2,
                                  method=net.encode))[0] for a, b in pieces_windows]
    np.testing.assert_allclose(mean_code[row], np.concatenate(steps).mean(0), rtol=1e-5,
                               atol=1e-6)
    used = piece[:pieces_windows[-1][1]]
    np.testing.assert_allclose(raw[row], used.reshape(-1, 20).mean(0), rtol=1e-5, atol=1e-6)
