r"""Completes your own four-voice chorale with a trained DKM (paper section 4.4).

  python -m kanerva_music.tools.complete --workdir=runs/chorales --input=my_chorale.mid \
      --output=completed.mid [--fill_steps=16-31 | --fill_bars=4,6]

The input (MIDI or MusicXML, anything music21 reads) must have four voices (S, A, T, B) with pitches
in the model's range. Bars are numbered as printed in the score (a pickup is bar 0). The memory
stores every window of the input that starts on a bar line and needs no filling, plus training
episodes up to T. Each filled step is read from one episode-long window: with `--fill_steps`
(default: the second half) the windows tile the piece from bar 1 (a pickup is kept); with
`--fill_bars` each filled bar gets the window around it that holds the most given notes (the bar
before or after), so every filled bar is read with observed context. Writes OUT.mid and OUT.wav.
"""

import os
from typing import NamedTuple

from absl import app
from absl import flags
from absl import logging
import jax
import ml_collections
import numpy as np

from kanerva_music.codec import completion as codec_completion
from kanerva_music.codec import objective as codec_objective
from kanerva_music.codec import train as codec_train
from kanerva_music.data import bach_corpus
from kanerva_music.data import episodes
from kanerva_music.evaluation import evaluate
from kanerva_music.memory import dkm
from kanerva_music.tools import given_notes
from kanerva_music.training import train
from music_runtime.files import audio
from music_runtime.files import workdir_lock
from music_runtime.files import workdir_utils
from music_runtime.running import cli
from music_runtime.training import checkpointing

STEPS_PER_QUARTER = bach_corpus.STEPS_PER_QUARTER

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A trained DKM workdir (holds config.json and checkpoints).")
flags.DEFINE_string("input", None, "Four-voice MIDI or MusicXML file.")
flags.DEFINE_string("output", None, "Output MIDI path; a WAV is written beside it.")
flags.DEFINE_string("fill_steps", None, "Steps of every window to fill, e.g. 16-31 (default: "
                    "the second half of each window).")
flags.DEFINE_list("fill_bars", None, "Bars of the piece to fill, numbered as printed (a pickup "
                  "is bar 0), e.g. 3,4; overrides --fill_steps.")
flags.DEFINE_bool("allow_unobserved", False, "Read windows with no given note (the read then "
                  "starts from nothing and returns the memory's most typical content).")
flags.DEFINE_integer("seed", 0, "Seed for the training episodes stored beside the input.")
flags.DEFINE_enum("read", None, list(dkm.READ_METHODS) + list(codec_completion.READS),
                  "The read (default: the trained model's best half-masked read of stored "
                  "episodes in its report.json, else config.model.read_method; a codec DKM "
                  "reads by its encoder, or by optimised addresses).")


class CompletionInputError(ValueError):
  """The input file cannot be completed by this model."""


class Bars(NamedTuple):
  """Where the printed bars of a piece lie on its 16th-note grid."""
  num_steps: int
  bar_steps: int = 16    # 4/4
  pickup_steps: int = 0  # steps of bar 0 (an anacrusis) before bar 1's downbeat

  @property
  def first(self):
    return 0 if self.pickup_steps else 1

  @property
  def last(self):
    return self.bar_of(self.num_steps - 1)

  def bar_of(self, step):
    """Printed bar number of each step (array or int)."""
    return np.where(np.asarray(step) < self.pickup_steps, 0,
                    (np.asarray(step) - self.pickup_steps) // self.bar_steps + 1)

  def span(self, bar):
    """[start, stop) steps of a printed bar."""
    if bar == 0:
      return 0, self.pickup_steps
    start = self.pickup_steps + (bar - 1) * self.bar_steps
    return start, min(start + self.bar_steps, self.num_steps)

  def lines(self):
    """Steps where a bar starts."""
    return [self.span(b)[0] for b in range(self.first, self.last + 1)]

  def describe(self, start, stop):
    """'bars a-b' (or 'bar a') covering steps [start, stop) clipped to the piece."""
    first = int(self.bar_of(max(start, 0)))
    last = int(self.bar_of(min(stop, self.num_steps) - 1))
    return f"bar {first}" if first == last else f"bars {first}-{last}"


def load_trained(workdir):
  """(config, params) from a workdir written by kanerva_music.main."""
  saved = workdir_utils.read_config_json(workdir)
  if not saved:
    raise CompletionInputError(f"{workdir}: no config.json; is this a kanerva_music workdir? "
                               "Train one with python -m kanerva_music.main "
                               "--config=configs/chorales.py --workdir=...")
  config = ml_collections.ConfigDict(saved)
  target = (codec_train.create_state(config, codec_objective.make_codec(config))
            if is_codec(config) else train.create_state(config))
  try:
    state, step = checkpointing.restore_trained(workdir, target,
                                                keep=config.checkpoints_to_keep)
  except FileNotFoundError as e:
    raise CompletionInputError(f"{workdir}: no checkpoint, the model is untrained. Train it with "
                               f"python -m kanerva_music.main --config=configs/chorales.py "
                               f"--workdir={workdir}") from e
  logging.info("Loaded %s at step %d", workdir, step)
  return config, state["params"]


def is_codec(config):
  return config.model.get("kind", "linear") == "codec"


def model_name(config, read):
  """What the tool says it read with."""
  if is_codec(config):
    code_size = codec_objective.make_codec(config).code_size
    return f"codec DKM ({config.codec.encoder} encoder, C' = {code_size}), {read} read"
  return f"linear DKM, {read} read"


def check_read(config, read):
  """A read the workdir's model has (a linear read of a codec DKM, or the reverse, is refused)."""
  reads = codec_completion.READS if is_codec(config) else dkm.READ_METHODS
  if read not in reads:
    kind = "a codec DKM" if is_codec(config) else "a linear DKM"
    raise CompletionInputError(f"--read={read}: the workdir holds {kind}, whose reads are "
                               f"{', '.join(reads)}")


def _saved_report(workdir):
  path = os.path.join(workdir, "report.json")
  if not os.path.exists(path):
    return {}
  return workdir_utils.read_json(path, "report")


def best_read(workdir, config):
  """The read with the best half-masked exact recall in the workdir's report.json, else the
  config's headline read (a codec DKM: its encoder read)."""
  if is_codec(config):
    half = _saved_report(workdir).get("codec", {}).get("complete", {}).get("half", {})
    scores = {read: by_query["recall"]["acc_exact"][-1] for read, by_query in half.items()
              if read in codec_completion.READS}
    return max(scores, key=scores.get) if scores else "encoder"
  half = _saved_report(workdir).get("complete", {}).get("half", {})
  scores = {read: by_query["recall"]["acc_exact"][-1] for read, by_query in half.items()
            if read in dkm.READ_METHODS}
  if scores:
    return max(scores, key=scores.get)
  return config.model.read_method


def attention_beta(workdir, config):
  """The attention read's beta: the config's, else the one the report chose on validation."""
  beta = config.model.attention_beta or _saved_report(workdir).get("attention", {}).get("beta")
  if not beta:
    raise CompletionInputError(
        f"{workdir}: --read=attention needs a beta: set config.model.attention_beta or write the "
        f"report first (python -m kanerva_music.main --mode=eval --workdir={workdir})")
  return beta


def _bars_of_score(score, num_steps):
  """Bar length from the first time signature (4/4 if none) and the pickup, if the score has one
  (MusicXML keeps it as bar 0; MIDI has no pickup, so its bars count from its first beat)."""
  part = score.parts[0]
  signatures = list(part.recurse().getElementsByClass("TimeSignature"))
  bar_quarters = float(signatures[0].barDuration.quarterLength) if signatures else 4.0
  measures = list(part.getElementsByClass("Measure"))
  pickup = 0.0
  if len(measures) > 1 and (measures[0].number == 0 or measures[0].paddingLeft > 0):
    pickup = float(measures[0].duration.quarterLength)
    if pickup >= bar_quarters:
      pickup = 0.0
  return Bars(num_steps, int(round(bar_quarters * STEPS_PER_QUARTER)),
              int(round(pickup * STEPS_PER_QUARTER)))


def read_voices(path):
  """([steps, 4] MIDI pitches, NaN = rest; Bars) of a four-voice file, checked against the
  model's range."""
  grid, bars, _ = read_score(path)
  return grid, bars


def read_score(path):
  """([steps, 4] MIDI pitches, NaN = rest; Bars; the score's notes as given,
  `given_notes.GivenScore`) of a four-voice file, checked against the model's range."""
  if not os.path.exists(path):
    raise CompletionInputError(f"{path}: no such file")
  try:
    score = given_notes.parse(path)
  except Exception as e:  # pylint: disable=broad-except  # music21 raises many types
    raise CompletionInputError(f"{path}: music21 cannot read it ({e})") from e
  parts = list(getattr(score, "parts", []))
  grid = bach_corpus.score_to_pitches(score)
  if grid is None:
    raise CompletionInputError(f"{path}: has {len(parts)} parts; expected four voices (soprano, "
                               "alto, tenor, bass), one part each")
  if not np.isfinite(grid).any():
    raise CompletionInputError(f"{path}: has no notes")
  bars = _bars_of_score(score, len(grid))
  bad = np.argwhere(np.isfinite(grid) & ((grid < episodes.PITCH_LOW) |
                                         (grid > episodes.PITCH_HIGH)))
  if len(bad):
    from music21 import pitch as m21pitch  # pylint: disable=import-outside-toplevel
    notes = sorted({(int(v), int(bars.bar_of(s)), m21pitch.Pitch(midi=int(grid[s, v])))
                    for s, v in bad}, key=lambda n: (n[1], n[0]))
    listed = ", ".join(f"{bach_corpus.VOICE_NAMES[v]} bar {b} {p.nameWithOctave}"
                       for v, b, p in notes[:12])
    raise CompletionInputError(
        f"{path}: {len(notes)} note(s) outside the model's range MIDI {episodes.PITCH_LOW}-"
        f"{episodes.PITCH_HIGH} (C2-A5): {listed}{' ...' if len(notes) > 12 else ''}")
  return grid, bars, given_notes.given_score(score, bach_corpus.satb_parts(score), path)


def _parse_fill_steps(fill_steps, window_steps):
  if not fill_steps:
    return window_steps // 2, window_steps - 1
  first, _, last = fill_steps.partition("-")
  try:
    first, last = int(first), int(last or first)
  except ValueError:
    first, last = -1, -1
  if not 0 <= first <= last < window_steps:
    raise CompletionInputError(f"--fill_steps={fill_steps}: expected a-b within 0-"
                               f"{window_steps - 1}")
  return first, last


def _parse_fill_bars(fill_bars, bars):
  try:
    chosen = {int(b) for b in fill_bars}
  except ValueError as e:
    raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: expected bar numbers "
                               f"{bars.first}-{bars.last}, e.g. --fill_bars=4,6") from e
  outside = sorted(b for b in chosen if not bars.first <= b <= bars.last)
  if outside:
    raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: bar(s) {outside} outside "
                               f"the piece's bars {bars.first}-{bars.last}")
  return sorted(chosen)


def plan_reads(bars, window_steps, given, fill_steps=None, fill_bars=None):
  """(fill [num_steps] bool, reads [(window_start, steps_written [num_steps] bool)]).

  `given` [num_steps] counts the given notes per step. Window starts may lie before step 0 or
  run past the end; those steps are read as unobserved."""
  step = np.arange(bars.num_steps)
  if fill_bars:
    chosen_bars = _parse_fill_bars(fill_bars, bars)
    fill = np.isin(bars.bar_of(step), chosen_bars)
    by_start = {}
    for bar in chosen_bars:
      start, stop = bars.span(bar)
      # The bar last in its window (context before it) or first (context after), whichever
      # window holds more given notes; before wins a tie.
      options = (stop - window_steps, start)
      counts = [given[max(s, 0):s + window_steps][~fill[max(s, 0):s + window_steps]].sum()
                for s in options]
      chosen = options[int(np.argmax(counts))]
      by_start.setdefault(chosen, np.zeros(bars.num_steps, bool))[start:stop] = True
    return fill, sorted(by_start.items())
  first, last = _parse_fill_steps(fill_steps, window_steps)
  # Windows tile the piece from bar 1's downbeat; a pickup before it is kept as given.
  origin = bars.pickup_steps
  within = (step - origin) % window_steps
  fill = (within >= first) & (within <= last) & (step >= origin)
  reads = []
  for start in range(origin, bars.num_steps, window_steps):
    written = fill & (step >= start) & (step < start + window_steps)
    if written.any():
      reads.append((start, written))
  return fill, reads


def fill_mask(bars, window_steps, fill_steps=None, fill_bars=None):
  """[num_steps] bool, True where a step is to be filled."""
  return plan_reads(bars, window_steps, np.ones(bars.num_steps), fill_steps, fill_bars)[0]


def _windows(array, starts, window_steps, pad_value):
  """array[start:start + window] for each start, padded with pad_value outside the piece."""
  padded = np.concatenate([np.full((window_steps,) + array.shape[1:], pad_value, array.dtype),
                           array,
                           np.full((window_steps,) + array.shape[1:], pad_value, array.dtype)])
  return np.stack([padded[s + window_steps:s + 2 * window_steps] for s in starts])


class Completion(NamedTuple):
  pitches: np.ndarray   # [num_steps, 4] the input with the filled steps replaced
  summary: list         # lines saying what was stored and what each read filled
  fill: np.ndarray      # [num_steps] bool, the filled steps


def complete_grid(config, params, grid, bars, fill_steps=None, fill_bars=None, train_pool=None,
                  seed=0, read=None, beta=None, allow_unobserved=False):
  """Fills the chosen steps of grid by masked iterative reads with `read` (default: the
  config's; `beta` for the attention read)."""
  window = config.data.episode_steps
  x = episodes.normalise(grid.astype(np.float32))
  given_notes = np.isfinite(x)
  fill, reads = plan_reads(bars, window, given_notes.sum(1), fill_steps, fill_bars)
  observed = given_notes & ~fill[:, None]
  starts = [s for s, _ in reads]
  cues = _windows(np.where(observed, x, 0.0).astype(np.float32), starts, window, 0.0)
  masks = _windows(observed.astype(np.float32), starts, window, 0.0)
  empty = [s for s, m in zip(starts, masks) if not m.any()]
  if empty and not allow_unobserved:
    raise CompletionInputError(
        "nothing is given in the window(s) of " + ", ".join(bars.describe(s, s + window)
                                                          for s in empty)
        + ": a read needs some given notes in each window it fills; fill fewer bars (leave a "
        "given bar beside each filled one) or pass --allow_unobserved")

  # The input's own complete windows starting on bar lines, then training episodes up to T.
  own_starts = [s for s in bars.lines()
                if s + window <= bars.num_steps and observed[s:s + window].all()]
  own = [x[s:s + window].reshape(-1) for s in own_starts]
  num_train = max(0, config.episodes_per_memory - len(own))
  if len(own) > config.episodes_per_memory:
    own, own_starts = own[:config.episodes_per_memory], own_starts[:config.episodes_per_memory]
  train_eps = np.asarray(episodes.sample_episodes(train_pool, jax.random.PRNGKey(seed),
                                                  (num_train,), window))
  train_eps = train_eps.reshape(num_train, window * 4)
  stored = np.concatenate([np.asarray(own, np.float32).reshape(-1, window * 4), train_eps])
  summary = [f"Memory: {len(own)} window(s) of the input"
             + (f" ({', '.join(bars.describe(s, s + window) for s in own_starts)})" if own else "")
             + f", {num_train} training episodes"]
  completed = _read(config, params, stored, cues.reshape(len(starts), -1),
                    masks.reshape(len(starts), -1), read, beta).reshape(len(starts), window, 4)
  nearest = _nearest_stored(completed, masks, stored, window)
  out = grid.astype(np.float64)
  for (start, steps_written), pitches, (index, agree) in zip(reads, completed, nearest):
    rows = np.flatnonzero(steps_written)
    out[rows] = pitches[rows - start]
    source = (f"the input's {bars.describe(own_starts[index], own_starts[index] + window)}"
              if index < len(own) else f"training episode {index - len(own)}")
    summary.append(f"Filled {bars.describe(rows[0], rows[-1] + 1)} from the window of "
                   f"{bars.describe(start, start + window)}; {agree:.0%} of its filled notes "
                   f"equal the nearest stored episode ({source})")
  return Completion(out, summary, fill)


def _read(config, params, stored, cues, masks, read, beta):
  """Pitches [W, C] of the windows cues [W, C] completed under masks [W, C]."""
  if is_codec(config):
    return codec_completion.complete_windows(config, params, stored, cues, masks,
                                             read or "encoder").reshape(len(cues), -1)
  written = jax.tree_util.tree_map(lambda a: a[0], evaluate.write_memories(
      params, stored[None], config.model))
  iterates = dkm.iterate_read(written["memory"], cues, masks, num_iters=config.eval.num_iters,
                              obs_noise_std=config.model.obs_noise_std,
                              prior_std=config.model.prior_std,
                              method=read or config.model.read_method,
                              rcond=config.model.lstsq_rcond or None, values=written["values"],
                              beta=beta, top_k=config.model.attention_top_k)
  return episodes.to_pitches(np.asarray(iterates[-1]))


def _nearest_stored(completed, masks, stored, window):
  """(index, fraction equal) of the stored episode nearest each completed window on its
  unobserved entries: how much of the fill is stored material."""
  stored_pitches = episodes.to_pitches(stored).reshape(len(stored), window, 4)
  result = []
  for pitches, mask in zip(completed, masks):
    hidden = mask == 0
    equal = (stored_pitches == pitches[None]) & hidden[None]
    fractions = equal.sum((1, 2)) / max(hidden.sum(), 1)
    index = int(np.argmax(fractions))
    result.append((index, float(fractions[index])))
  return result


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  for name in ("workdir", "input", "output"):
    if not getattr(FLAGS, name):
      raise app.UsageError(f"--{name} is required")
  if os.path.abspath(FLAGS.output) == os.path.abspath(FLAGS.input):
    raise CompletionInputError(f"--output={FLAGS.output} is the input file: it would be "
                               "overwritten; write the completion elsewhere")
  if os.path.splitext(FLAGS.output)[1].lower() not in (".mid", ".midi"):
    raise CompletionInputError(f"--output={FLAGS.output}: expected a .mid path (a WAV is "
                               "written beside it)")
  workdir_lock.check_unlocked(FLAGS.output, "--output")
  config, params = load_trained(FLAGS.workdir)
  grid, bars, given = read_score(FLAGS.input)
  # Checked before the data load so that a bad flag fails at once.
  plan_reads(bars, config.data.episode_steps, np.ones(bars.num_steps), FLAGS.fill_steps,
             FLAGS.fill_bars)
  pools, _ = train.load_pools(config)
  read = FLAGS.read or best_read(FLAGS.workdir, config)
  check_read(config, read)
  beta = attention_beta(FLAGS.workdir, config) if read == "attention" else None
  completion = complete_grid(config, params, grid, bars, FLAGS.fill_steps, FLAGS.fill_bars,
                             pools["train"], FLAGS.seed, read, beta, FLAGS.allow_unobserved)
  print(f"Model: {model_name(config, read)}")
  print("\n".join(completion.summary + chord_lines(given, bars)))
  sequence = given_notes.completed_sequence(given, completion.fill, completion.pitches)
  wav = os.path.splitext(FLAGS.output)[0] + ".wav"
  if os.path.abspath(wav) == os.path.abspath(FLAGS.input):
    raise CompletionInputError(f"--output={FLAGS.output}: its WAV {wav} is the input file")
  import note_seq  # pylint: disable=import-outside-toplevel
  note_seq.sequence_proto_to_midi_file(sequence, FLAGS.output)
  synth = audio.write_sequence_wav(sequence, wav, audio.SAMPLE_RATE)
  print(f"Wrote {FLAGS.output} and {wav} ({synth} synthesis); every given note outside the "
        "filled steps is kept as given")


def chord_lines(given, bars):
  """A line per chord inside one voice: the read sees its top note, the output keeps it."""
  from music21 import pitch as m21pitch  # pylint: disable=import-outside-toplevel
  lines = []
  for voice, offset, pitches in given.chords[:8]:
    step = int(round(offset * STEPS_PER_QUARTER))
    names = " ".join(m21pitch.Pitch(midi=p).nameWithOctave for p in pitches)
    lines.append(f"Note: {bach_corpus.VOICE_NAMES[voice]} bar {int(bars.bar_of(step))} holds a "
                 f"chord ({names}); the read sees its top note, the output keeps the chord")
  if len(given.chords) > 8:
    lines.append(f"Note: {len(given.chords) - 8} more chord(s) inside a voice")
  return lines


if __name__ == "__main__":
  cli.run(main, (CompletionInputError, FileNotFoundError))
