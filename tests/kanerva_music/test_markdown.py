"""The linear DKM report's Markdown renderer against stored golden output."""

import os

from configs import chorales as chorales_config
from kanerva_music.reporting import markdown
from tests import golden

HERE = os.path.join(os.path.dirname(__file__), "golden")
WORKDIR = "/workdir"
CLIPS = [f"{name}_{kind}" for name in ("denoise", "complete") for kind in ("original", "cue",
                                                                           "output")]
CLIPS += [f"continue_{kind}" for kind in ("original", "given", "output")]


def _linear_media():
  media = {"fig2": f"{WORKDIR}/fig2_denoise.png", "fig3": f"{WORKDIR}/fig3_complete.png",
           "fig4": f"{WORKDIR}/fig4_continue.png", "synth": "sine",
           "capacity": f"{WORKDIR}/capacity.png", "frontier": f"{WORKDIR}/frontier.png"}
  media.update({name: f"{WORKDIR}/audio/{name}.mid" for name in CLIPS})
  return media


def test_linear_report_renders_as_stored():
  report = golden.load_report(os.path.join(HERE, "linear_report.json"))
  config = chorales_config.get_config("quick")
  golden.check(markdown.markdown(report, _linear_media(), WORKDIR, config),
               os.path.join(HERE, "linear_REPORT.md"))
