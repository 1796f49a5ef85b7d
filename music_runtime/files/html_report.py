"""REPORT.html beside REPORT.md: the same text and tables, the figures inline, and every listening
example as its piano roll with an audio player, so a reader compares by ear.

One self-contained page per run: no script, no network fetch, relative links to the workdir's
files. A listening line of REPORT.md (a list item linking MIDI and WAV files) becomes a row per
file: its name, its piano roll (the figure the line links, else one drawn from the MIDI, pitch
against seconds) and an `<audio>` player for the WAV.
"""

import html
import os
import re
from typing import List, Optional, Tuple

import numpy as np

from music_runtime.files import atomic

HTML_FILE = "REPORT.html"
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; }
code { background: #f4f4f4; padding: 0 0.2rem; }
.listen { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
.listen h4 { margin: 0.3rem 0; }
.take { display: inline-block; vertical-align: top; margin: 0.4rem 1rem 0.4rem 0; width: 21rem; }
.take img { width: 21rem; border: 1px solid #eee; }
.take audio { width: 21rem; }
"""


def _links(line: str) -> List[Tuple[str, str]]:
  return _LINK.findall(line)


def is_listening_line(line: str) -> bool:
  """A Markdown list item linking at least one WAV file."""
  return line.lstrip().startswith("- ") and any(href.endswith(".wav")
                                                for _, href in _links(line))


_Take = Tuple[str, Optional[str], Optional[str], Optional[str]]  # name, midi, wav, figure


def _takes(line: str) -> Tuple[str, List[_Take]]:
  """(label, [(name, midi, wav, figure)]) of one listening line, in order."""
  label = line.lstrip()[2:].split(":", 1)[0].strip()
  takes: list[list[Optional[str]]] = []
  figure = None
  for text, href in _links(line):
    if href.endswith((".mid", ".midi")):
      takes.append([label if text == "midi" else text, href, None, None])
    elif href.endswith(".wav"):
      if takes and takes[-1][2] is None:
        takes[-1][2] = href
      else:
        takes.append([label if text == "wav" else text, None, href, None])
    elif href.endswith(".png"):
      figure = href
  if figure is not None and len(takes) == 1:
    takes[0][3] = figure
  return label, [(str(t[0]), t[1], t[2], t[3]) for t in takes]


def roll_path(midi_rel: str) -> str:
  """Where the piano roll drawn for a MIDI file goes (beside it)."""
  return os.path.splitext(midi_rel)[0] + ".roll.png"


def draw_roll(midi_path: str, png_path: str, title: str = "") -> None:
  """A piano roll of a MIDI file: MIDI pitch (note names on the ticks; drum names for a drum
  track) against seconds."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  import pretty_midi  # pylint: disable=import-outside-toplevel
  midi = pretty_midi.PrettyMIDI(midi_path)
  fig, ax = plt.subplots(figsize=(6, 2.4))
  notes = [(n, inst.is_drum) for inst in midi.instruments for n in inst.notes]
  for i, inst in enumerate(midi.instruments):
    for n in inst.notes:
      ax.add_patch(matplotlib.patches.Rectangle((n.start, n.pitch - 0.4), max(n.end - n.start,
                                                                              0.02), 0.8,
                                                color=f"C{i % 10}", lw=0))
  pitches = [n.pitch for n, _ in notes] or [60]
  drums = bool(notes) and all(is_drum for _, is_drum in notes)
  ax.set_xlim(0, max([n.end for n, _ in notes] or [1.0]))
  ax.set_ylim(min(pitches) - 1, max(pitches) + 1)
  if drums:
    used = sorted(set(pitches))
    ax.set_yticks(used)
    ax.set_yticklabels([pretty_midi.note_number_to_drum_name(p) or str(p) for p in used],
                       fontsize=6)
    ax.set_ylabel("drum")
  else:
    low, high = min(pitches), max(pitches)
    ticks = [p for p in range(low - low % 12, high + 1, 12) if p >= low - 1] or [low]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{pretty_midi.note_number_to_name(p)} ({p})" for p in ticks],
                       fontsize=7)
    ax.set_ylabel("pitch")
  ax.set_xlabel("seconds")
  if title:
    ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(png_path, dpi=80)
  plt.close(fig)


def _listening_block(line: str, workdir: str) -> str:
  label, takes = _takes(line)
  parts = [f'<div class="listen"><h4>{html.escape(label)}</h4>']
  for name, midi, wav, figure in takes:
    if figure is None and midi is not None and os.path.exists(os.path.join(workdir, midi)):
      figure = roll_path(midi)
      draw_roll(os.path.join(workdir, midi), os.path.join(workdir, figure), name)
    parts.append('<div class="take">')
    parts.append(f"<div><b>{html.escape(name)}</b>"
                 + (f' (<a href="{html.escape(midi)}">MIDI</a>)' if midi else "") + "</div>")
    if figure is not None:
      parts.append(f'<img src="{html.escape(figure)}" alt="piano roll of {html.escape(name)}">')
    if wav is not None:
      parts.append(f'<audio controls preload="metadata" src="{html.escape(wav)}"></audio>')
    parts.append("</div>")
  parts.append("</div>")
  return "".join(parts)


def render(markdown_text: str, workdir: str, title: Optional[str] = None) -> str:
  """The HTML page of a REPORT.md text whose links are relative to `workdir`."""
  import markdown  # pylint: disable=import-outside-toplevel
  out_lines = []
  for line in markdown_text.splitlines():
    if is_listening_line(line):
      out_lines += ["", _listening_block(line, workdir), ""]
    else:
      out_lines.append(line)
  body = markdown.markdown("\n".join(out_lines), extensions=["tables", "fenced_code"])
  if title is None:
    first = next((l for l in markdown_text.splitlines() if l.startswith("# ")), "# Report")
    title = first[2:].strip()
  return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
          f"<body>\n{body}\n</body></html>\n")


def write(markdown_text: str, workdir: str) -> str:
  """Writes `workdir/REPORT.html` (atomically) from the REPORT.md text; returns its path."""
  path = os.path.join(workdir, HTML_FILE)
  atomic.write_text(path, render(markdown_text, workdir))
  return path


def referenced_files(page: str) -> List[str]:
  """Every relative `src` and `href` of a page (what a reader's browser will load)."""
  refs = re.findall(r'(?:src|href)="([^"]+)"', page)
  return [html.unescape(r) for r in refs if not re.match(r"^[a-z]+:", r) and not
          r.startswith("#")]


def is_blank(png_path: str) -> bool:
  """Whether an image is one colour (a page that drew nothing)."""
  import matplotlib.image  # pylint: disable=import-outside-toplevel
  pixels = np.asarray(matplotlib.image.imread(png_path))
  return float(pixels.std()) == 0.0
