"""kanerva_music.reporting.figures: the piano rolls are the pictures of the straightforward
drawing."""

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np

from kanerva_music.reporting import figures


def draw_notes_one_by_one(ax, grid):
  """The previous drawing: one `broken_barh` per note."""
  for voice in range(grid.shape[1]):
    for step, pitch in enumerate(grid[:, voice]):
      if np.isfinite(pitch):
        ax.broken_barh([(step, 1)], (pitch - 0.4, 0.8), color=figures.VOICE_COLORS[voice])


def test_draw_roll_is_pixel_identical_to_drawing_note_by_note(tmp_path, monkeypatch):
  # At the report's size and resolution. (At some others, e.g. 80 dpi, Agg's pixel snapping
  # treats a collection of many rectangles and many collections of one differently in the
  # column of pixels at the axes' right edge.)
  rng = np.random.default_rng(0)
  grid = rng.integers(40, 80, size=(32, 4)).astype(float)
  grid[rng.random(grid.shape) < 0.15] = np.nan   # rests
  grid[4:9, 1] = grid[4, 1]                       # a held note
  grid[10:12, 3] = grid[10:12, 2]                 # unisons: the later voice on top
  grid[:, 0] = np.nan                             # a silent voice
  images = []
  for name, draw_notes in (("ours", figures.draw_notes), ("one_by_one", draw_notes_one_by_one)):
    monkeypatch.setattr(figures, "draw_notes", draw_notes)
    fig, ax = plt.subplots(figsize=(8, 1.6))
    figures.draw_roll(ax, grid, "roll", np.arange(32) >= 16)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    images.append(mpimg.imread(path))
  np.testing.assert_array_equal(images[0], images[1])
