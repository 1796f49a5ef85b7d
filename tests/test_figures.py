"""kanerva_music.figures: the piano rolls are the pictures of the straightforward drawing."""

import matplotlib
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np

from kanerva_music import figures

matplotlib.use("Agg")


def draw_roll_note_by_note(ax, grid, title="", masked_steps=None):
  """The previous `draw_roll`: one `broken_barh` per note."""
  grid = np.asarray(grid, np.float64)
  if masked_steps is not None and np.any(masked_steps):
    for s in np.flatnonzero(masked_steps):
      ax.axvspan(s, s + 1, color="0.9", lw=0)
  for voice in range(grid.shape[1]):
    for step, pitch in enumerate(grid[:, voice]):
      if np.isfinite(pitch):
        ax.broken_barh([(step, 1)], (pitch - 0.4, 0.8), color=figures.VOICE_COLORS[voice])
  for bar in range(0, len(grid) + 1, 16):
    ax.axvline(bar, color="0.5", lw=0.6)
  ax.set_xlim(0, len(grid))
  ax.set_ylim(35, 83)
  ax.set_title(title, fontsize=9)
  ax.tick_params(labelsize=7)


def test_draw_roll_is_pixel_identical_to_drawing_note_by_note(tmp_path):
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
  for draw in (figures.draw_roll, draw_roll_note_by_note):
    fig, ax = plt.subplots(figsize=(8, 1.6))
    draw(ax, grid, "roll", np.arange(32) >= 16)
    path = tmp_path / f"{draw.__name__}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    images.append(mpimg.imread(path))
  np.testing.assert_array_equal(images[0], images[1])
