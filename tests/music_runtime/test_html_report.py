"""music_runtime.files.html_report: REPORT.html holds the report's tables, its figures inline and a
player per listening file; opened in a real headless browser where one is installed."""

import os
import shutil

import matplotlib
import numpy as np
import pytest

from kanerva_music.reporting import music_io
from music_runtime.files import html_report

matplotlib.use("Agg")

REPORT_MD = """# Test report

| claim | ours | held |
| --- | --- | --- |
| memory recalls | 92.8% | yes |

![completion](figure.png)

- complete: [original](audio/a_original.mid) ([wav](audio/a_original.wav)), [cue](audio/a_cue.mid) ([wav](audio/a_cue.wav)), [output](audio/a_output.mid) ([wav](audio/a_output.wav))
- generated piece: [midi](audio/g.mid), [wav](audio/g.wav), [figure](audio/g.png)
"""


def _workdir(path):
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  (path / "audio").mkdir(parents=True)
  rng = np.random.default_rng(0)
  for name in ("a_original", "a_cue", "a_output", "g"):
    grid = (60 + rng.integers(-5, 6, size=(32, 4)) + np.array([12, 4, -4, -12])).astype(float)
    music_io.write_midi(grid, str(path / "audio" / f"{name}.mid"))
    music_io.write_wav(grid, str(path / "audio" / f"{name}.wav"))
  for name in ("figure.png", "audio/g.png"):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x")
    fig.savefig(path / name)
    plt.close(fig)
  return html_report.write(REPORT_MD, str(path))


def test_the_page_holds_tables_figures_and_a_player_per_listening_file(tmp_path):
  page = open(_workdir(tmp_path)).read()
  assert "<table>" in page and "<td>92.8%</td>" in page
  assert '<img alt="completion" src="figure.png"' in page
  assert page.count("<audio ") == 4
  # Each take shows its piano roll: drawn from its MIDI, or the figure its line links.
  for name in ("a_original", "a_cue", "a_output"):
    assert f'src="audio/{name}.roll.png"' in page
  assert 'src="audio/g.png"' in page and not (tmp_path / "audio" / "g.roll.png").exists()
  assert "<script" not in page and "http" not in page  # self-contained, no fetch
  refs = html_report.referenced_files(page)
  assert refs and all((tmp_path / r).exists() for r in refs), refs


def browser_available():
  """(chromium, chromedriver) paths where both and selenium are installed, else None."""
  chromium = shutil.which("chromium") or shutil.which("chromium-browser")
  try:
    import selenium  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return None
  driver = shutil.which("chromedriver")
  return (chromium, driver) if chromium and driver else None


def _browser(binaries):
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
  chromium, driver = binaries
  options = webdriver.ChromeOptions()
  options.binary_location = chromium
  for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
                   "--allow-file-access-from-files", "--window-size=1200,900"):
    options.add_argument(argument)
  options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
  return webdriver.Chrome(options=options, service=Service(driver))


def check_in_browser(page_path, screenshot_path):
  """Opens a REPORT.html in headless Chromium: every image loads, every audio file decodes,
  no console error, a screenshot that is not blank. Returns (images, audio) as the page saw them."""
  binaries = browser_available()
  if binaries is None:
    pytest.skip("no chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
  from selenium.webdriver.support import ui  # pylint: disable=import-outside-toplevel
  browser = _browser(binaries)
  try:
    browser.get("file://" + os.path.abspath(page_path))
    for audio in browser.find_elements("tag name", "audio"):
      browser.execute_script("arguments[0].load();", audio)
    ui.WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "return [...document.querySelectorAll('audio')].every("
        "a => a.error !== null || a.readyState >= 1);"))
    images = browser.execute_script(
        "return [...document.images].map(i => [i.getAttribute('src'), i.complete, "
        "i.naturalWidth]);")
    audio = browser.execute_script(
        "return [...document.querySelectorAll('audio')].map(a => [a.getAttribute('src'), "
        "a.error && a.error.code, a.duration]);")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    browser.save_screenshot(str(screenshot_path))
  finally:
    browser.quit()
  assert images and all(ok and width > 0 for _, ok, width in images), images
  assert all(error is None and duration > 0 for _, error, duration in audio), audio
  assert not errors, errors
  assert not html_report.is_blank(str(screenshot_path))
  return images, audio


def test_a_browser_loads_every_image_and_decodes_every_audio_file(tmp_path):
  images, audio = check_in_browser(_workdir(tmp_path), tmp_path / "page.png")
  assert len(images) == 5 and len(audio) == 4
  assert all(duration > 1.0 for _, _, duration in audio)


def check_report_page(workdir, listening):
  """REPORT.html: every file it references exists, and a player per listening WAV."""
  page = open(os.path.join(workdir, "REPORT.html")).read()
  refs = html_report.referenced_files(page)
  assert all(os.path.exists(os.path.join(workdir, r)) for r in refs), refs
  for name in listening:
    assert f'<h4>{name}</h4>' in page
  assert page.count("<audio ") == sum(r.endswith(".wav") for r in refs) > 0
  if browser_available():  # the real page, opened as a reader would
    check_in_browser(os.path.join(workdir, "REPORT.html"),
                     os.path.join(workdir, "..", "report_page.png"))
