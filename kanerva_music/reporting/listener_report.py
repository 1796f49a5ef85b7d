"""The report's listener section (`config.eval.listener_voice_noises`; evaluation/listener.py):
the melodic-cue table, per-voice capacity curves of the uniform and melody-weighted memories (a
figure and a table) and one listening example per setting."""

import os
import time
from typing import Callable, Mapping

import matplotlib.pyplot as plt
from ml_collections import ConfigDict
import numpy as np

from kanerva_music.data import episodes
from kanerva_music.evaluation import capacity
from kanerva_music.evaluation import listener
from kanerva_music.reporting import figures  # selects matplotlib's Agg backend
from kanerva_music.reporting import music_io
from music_runtime.files import report_format as fmt


def example_size(config: ConfigDict) -> int:
  """The T of the listening examples' memory: the smallest listener size past K (64 at K = 32),
  else the largest."""
  sizes = sorted(config.eval.listener_sizes)
  return next((t for t in sizes if t > config.model.num_rows), sizes[-1])


def enabled(config: ConfigDict) -> bool:
  """Whether the config asks for the listener section."""
  return bool(config.eval.get("listener_voice_noises", ()))


def section(config: ConfigDict, params: dict, test_pool: episodes.EpisodePool,
            stored: np.ndarray, novel: np.ndarray, beta: float,
            heartbeat: Callable[[str], None] = lambda what: None) -> dict:
  """report["listener"]: {"melodic_cue" (stored and unseen episodes of the report, T of
  `episodes_per_memory`), "capacity_by_voice" {setting: ...}, "sizes", "seconds"}."""
  start = time.time()
  cue = listener.melodic_cue(params, config.model, stored, novel, beta)
  heartbeat("report: listener melodic cue")
  sets = capacity.independent_sets(test_pool, config.eval.seed + 700, config.data.episode_steps,
                                   tuple(config.eval.listener_sizes))
  curves = listener.capacity_by_voice(params, config.model, sets,
                                      config.eval.listener_voice_noises, heartbeat)
  return {"melodic_cue": cue, "capacity_by_voice": curves, "example_size": example_size(config),
          "list_by_voice": listener.list_by_voice(sets),
          "sizes": [int(t) for t in config.eval.listener_sizes],
          "episodes_per_size": {str(t): int(s.shape[0] * s.shape[1]) for t, s in sets.items()},
          "seconds": time.time() - start}


def _grid(x: np.ndarray) -> np.ndarray:
  return np.asarray(episodes.to_pitches(np.asarray(x)), np.float64).reshape(-1, 4)


def write_media(folder: str, config: ConfigDict, params: dict, test_pool: episodes.EpisodePool,
                report: Mapping) -> dict:
  """The per-voice curves' figure and, per setting, the melodic cue, its recall and the
  original of one stored episode of a memory of `example_size` episodes, as MIDI and WAV;
  returns {name: path}."""
  media = {"listener_capacity": os.path.join(folder, "listener_capacity.png")}
  save_voice_curves(media["listener_capacity"], report["capacity_by_voice"])
  size = example_size(config)
  stored = capacity.independent_sets(test_pool, config.eval.seed + 701,
                                     config.data.episode_steps, (size,))[size][0]
  original = _grid(stored[0])
  cue = original.copy()
  cue[:, 1:] = np.nan
  clips = {"listener_original": original, "listener_cue": cue}
  settings = config.eval.listener_voice_noises
  recalls = listener.recall_examples(params, config.model, stored, settings)
  for noise, recall in zip(settings, recalls):
    clips[f"listener_recall_{listener.setting_name(noise)}"] = _grid(recall)
  audio_dir = os.path.join(folder, "audio")
  os.makedirs(audio_dir, exist_ok=True)
  for name, grid in clips.items():
    media[name] = os.path.join(audio_dir, f"{name}.mid")
    music_io.write_midi(grid, media[name])
    music_io.write_wav(grid, media[name][:-4] + ".wav")
  return media


def save_voice_curves(path: str, by_setting: Mapping) -> None:
  """Exact recall per voice against T, one panel per task, a line style per setting."""
  styles = ("-", "--", ":", "-.")
  fig, axes = plt.subplots(1, len(listener.TASKS), figsize=(10, 3.4), squeeze=False)
  for ax, task in zip(axes[0], listener.TASKS):
    for style, (name, entry) in zip(styles, by_setting.items()):
      sizes = sorted(entry["curves"], key=int)
      for v, voice in enumerate(listener.VOICE_NAMES):
        values = [entry["curves"][t][task][voice] for t in sizes]
        if any(x is None for x in values):
          continue  # the melodic cue does not score the given soprano
        ax.plot([int(t) for t in sizes], values, style, color=figures.VOICE_COLORS[v],
                label=f"{voice}, {name}")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("episodes stored (T)")
    ax.set_ylabel("exact recall")
    ax.set_title({"half": "second half masked", "soprano": "melodic cue (soprano given)"}[task],
                 fontsize=9)
    ax.legend(fontsize=6, ncol=2)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def markdown(report: Mapping, media: Mapping, rel: Callable[[str], str], config: ConfigDict,
             num_rows: int) -> list:
  """REPORT.md's listener section."""
  cue, curves = report["melodic_cue"], report["capacity_by_voice"]
  inner = listener.VOICE_NAMES[1:]
  lines = ["", "## Remembering like a listener", "",
           f"Melodic cue: only the soprano of each episode given (memories of T = "
           f"{config.episodes_per_memory} test episodes, K = {num_rows}); exact accuracy of the "
           "voices it leaves out. Stored: the episode is in the memory; unseen: read through the "
           "memory of the others.", "",
           "| read | stored: alto | tenor | bass | all | unseen: alto | tenor | bass | all |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  rows = list(cue["reads"].items()) + [(f"baseline: {name}", v)
                                       for name, v in cue["baselines"].items()]
  for name, by_query in rows:
    cells = [fmt.pct(by_query[q][v]) for q in ("recall", "novel") for v in (*inner, "all")]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  lines += ["", "`nearest_stored` is the list: the stored episode nearest by its soprano, copied. "
            "The memories' soprano columns (K x S, what the lstsq read inverts from a melody) have "
            f"a median condition number of {cue['soprano_block_condition']:.3g}.",
            "", "Capacity by voice: memories of T independent test episodes written and read "
            "(lstsq) with each setting's sigma per voice (S A T B); every setting keeps the same "
            "K x C mean (equal bytes). Sigmas: " + "; ".join(
                f"{name} {tuple(entry['voice_noise'])}" for name, entry in curves.items()) + ".",
            "", f"![per-voice capacity]({rel(media['listener_capacity'])})", "",
            "| setting | task | T | soprano | alto | tenor | bass | all |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  rows = [(name, entry["curves"]) for name, entry in curves.items()]
  if "list_by_voice" in report:
    rows.append(("baseline: the list (nearest stored)", report["list_by_voice"]))
  for name, by_size in rows:
    for task in listener.TASKS:
      for size in sorted(by_size, key=int):
        acc = by_size[size][task]
        lines.append(f"| {name} | {task} | {size} | " + " | ".join(
            "-" if acc[v] is None else fmt.pct(acc[v])
            for v in (*listener.VOICE_NAMES, "all")) + " |")
  lines += target_lines(report, num_rows)
  lines += ["", f"Listener section: {report['seconds']:.1f}s."]
  return lines


MELODIC_CUE_EXACT = 0.95  # alto, tenor and bass from the melody, stored, lstsq
MELODY_GAIN = 2.0         # a melody-weighted memory's soprano recall over the uniform's, past K


def target_lines(report: Mapping, num_rows: int) -> list:
  """The section's targets, each with its measurement and, where missed, the measured reason
  (the melody's gain at every T past K = `num_rows`)."""
  cue, curves = report["melodic_cue"], report["capacity_by_voice"]
  stored = cue["reads"]["lstsq"]["recall"]
  worst = min(stored[v] for v in listener.VOICE_NAMES[1:])
  verdict = lambda held: "held" if held else "**not held**"
  lines = ["", "| target | measured | verdict and reason |", "| --- | --- | --- |",
           f"| melodic cue, stored: alto, tenor, bass >= {MELODIC_CUE_EXACT:.0%} exact (lstsq) "
           f"| {', '.join(fmt.pct(stored[v]) for v in listener.VOICE_NAMES[1:])} | "
           f"{verdict(worst >= MELODIC_CUE_EXACT)}; the soprano columns' median condition number "
           f"{cue['soprano_block_condition']:.3g}; the list by soprano "
           f"{fmt.pct(cue['baselines']['nearest_stored']['recall']['all'])}, attention "
           f"{fmt.pct(cue['reads']['attention']['recall']['all'])} |"]
  uniform = curves.get("uniform")
  for name, entry in curves.items():
    if name == "uniform" or uniform is None:
      continue
    for size in (s for s in entry["curves"] if int(s) > num_rows and s in uniform["curves"]):
      ours = entry["curves"][size]["half"]["soprano"]
      base = uniform["curves"][size]["half"]["soprano"]
      held = base is not None and ours is not None and ours >= MELODY_GAIN * base
      lines.append(
          f"| {name}, T = {size}: soprano recall (half masked) >= {MELODY_GAIN:g}x the uniform "
          f"memory's | {fmt.pct(ours)} vs {fmt.pct(base)} | {verdict(held)}"
          + ("" if held else "; past K each voice's block of the mean is the least-squares fit "
             "of its columns onto the same K address directions: the weights move the addresses, "
             "not what K rows hold") + " |")
  return lines


def listening_lines(media: Mapping, rel: Callable[[str], str], size: int) -> list:
  """The Listening list's entries: cue, each setting's recall and the original."""
  names = ["listener_cue"] + sorted(n for n in media if n.startswith("listener_recall_")) + [
      "listener_original"]
  parts = [f"[{n[len('listener_'):].replace('recall_', 'recall ')}]({rel(media[n])}) "
           f"([wav]({rel(media[n])[:-4]}.wav))" for n in names if n in media]
  return [f"- melodic cue, T = {size}: " + ", ".join(parts)] if parts else []
