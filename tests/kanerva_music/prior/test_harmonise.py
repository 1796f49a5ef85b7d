"""kanerva_music.prior.harmonise: a piece filled window by window keeps its given voices."""

import numpy as np
import pytest

from kanerva_music.prior import harmonise
from kanerva_music.prior import network
from kanerva_music.prior import reads
from tests.kanerva_music.prior.tiny import S, random_notes, tiny_net


@pytest.mark.parametrize("read", reads.READS)
def test_fill_piece_keeps_the_given_melody_and_fills_the_rest(read):
  net, params = tiny_net()
  rng = np.random.default_rng(9)
  notes = np.asarray(random_notes(rng, ()))
  piece = np.concatenate([notes, notes[::-1], notes[:3]])  # 19 steps: windows 0, 4, 8, 11
  given = np.zeros(piece.shape, np.float32)
  given[:, 0] = 1.0
  got = harmonise.fill_piece(net, params, piece, given, read=read, hop=4, num_steps=3)
  np.testing.assert_array_equal(got[:, 0], piece[:, 0])
  assert got.shape == piece.shape and got.min() >= 0 and got.max() < network.NUM_PITCHES
  assert harmonise.window_starts(19, S, 4) == [0, 4, 8, 11]
  with pytest.raises(ValueError, match="shorter than one window"):
    harmonise.window_starts(5, S, 4)
