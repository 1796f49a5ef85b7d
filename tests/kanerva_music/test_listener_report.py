"""kanerva_music.reporting.listener_report: the listening examples' memory size, the section's
tables and figure from a made-up section (a trained one: tests/kanerva_music/test_report.py)."""

import os

from configs import chorales as chorales_config
from kanerva_music.evaluation import listener
from kanerva_music.reporting import listener_report


def _accuracy(value, given_soprano=False):
  acc = {v: value for v in listener.VOICE_NAMES}
  if given_soprano:
    acc["soprano"] = None
  acc["all"] = value
  return acc


def made_up_section():
  curves = {name: {"voice_noise": noise, "curves": {
      t: {"half": _accuracy(0.5), "soprano": _accuracy(0.25, True)} for t in ("16", "64")}}
      for name, noise in (("uniform", [0.03] * 4), ("melody_4x", [0.015, 0.03, 0.03, 0.03]))}
  cue = {"reads": {"lstsq": {"recall": _accuracy(0.97, True), "novel": _accuracy(0.1, True)},
                   "attention": {"recall": _accuracy(0.99, True), "novel": _accuracy(0.1, True)}},
         "baselines": {"nearest_stored": {"recall": _accuracy(1.0, True),
                                          "novel": _accuracy(0.2, True)}},
         "soprano_block_condition": 1234.5}
  return {"melodic_cue": cue, "capacity_by_voice": curves, "example_size": 64, "seconds": 3.5}


def test_the_examples_memory_is_the_first_size_past_k():
  config = chorales_config.get_config("listener")
  assert listener_report.enabled(config)
  assert listener_report.example_size(config) == 64  # K = 32, sizes 16 ... 256
  config.model.num_rows = 512
  assert listener_report.example_size(config) == 256
  assert not listener_report.enabled(chorales_config.get_config())


def test_the_section_tabulates_every_setting_and_draws_the_curves(tmp_path):
  section = made_up_section()
  media = {"listener_capacity": str(tmp_path / "listener_capacity.png"),
           "listener_cue": str(tmp_path / "audio" / "listener_cue.mid"),
           "listener_recall_uniform": str(tmp_path / "audio" / "listener_recall_uniform.mid")}
  listener_report.save_voice_curves(media["listener_capacity"], section["capacity_by_voice"])
  assert os.path.getsize(media["listener_capacity"]) > 1000
  rel = lambda path: os.path.relpath(path, tmp_path)
  config = chorales_config.get_config("listener")
  lines = listener_report.markdown(section, media, rel, config, 32)
  assert "| lstsq | 97.0% | 97.0% | 97.0% | 97.0% | 10.0% | 10.0% | 10.0% | 10.0% |" in lines
  assert "| melody_4x | soprano | 64 | - | 25.0% | 25.0% | 25.0% | 25.0% |" in lines
  assert "![per-voice capacity](listener_capacity.png)" in lines
  assert any(line.startswith("| melodic cue, stored: alto, tenor, bass >= 95% exact (lstsq) | "
                             "97.0%, 97.0%, 97.0% | held;") for line in lines)
  gain = [line for line in lines if line.startswith("| melody_4x, T = 64:")]
  assert len(gain) == 1 and "| 50.0% vs 50.0% | **not held**; past K" in gain[0]
  assert listener_report.listening_lines(media, rel, 64) == [
      "- melodic cue, T = 64: [cue](audio/listener_cue.mid) ([wav](audio/listener_cue.wav)), "
      "[recall uniform](audio/listener_recall_uniform.mid) "
      "([wav](audio/listener_recall_uniform.wav))"]
