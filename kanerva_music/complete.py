r"""Completes your own four-voice chorale with a trained DKM (seed section 4.4).

  python -m kanerva_music.complete --workdir=runs/chorales --input=my_chorale.mid \
      --output=completed.mid [--fill_steps=16-31 | --fill_bars=4,6]

The input (MIDI or MusicXML, anything music21 reads) must have four voices (S, A, T, B) with pitches
in the model's range. It is cut into 2-bar windows; the chosen steps of each window (default: its
second half) are masked and filled by the masked iterative read. The memory stores every
bar-aligned window of the input that needs no filling, plus training episodes up to T.
Writes OUT.mid and OUT.wav.
"""

import json
import os

from absl import app
from absl import flags
from absl import logging
import jax
import ml_collections
import numpy as np

from kanerva_music import bach_corpus
from kanerva_music import checkpointing
from kanerva_music import cli
from kanerva_music import dkm
from kanerva_music import episodes
from kanerva_music import evaluate
from kanerva_music import music_io
from kanerva_music import train

STEPS_PER_BAR = 16

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A trained DKM workdir (holds config.json and checkpoints).")
flags.DEFINE_string("input", None, "Four-voice MIDI or MusicXML file.")
flags.DEFINE_string("output", None, "Output MIDI path; a WAV is written beside it.")
flags.DEFINE_string("fill_steps", None, "Steps of every window to fill, e.g. 16-31 (default: "
                    "the second half of each window).")
flags.DEFINE_list("fill_bars", None, "Bars of the piece to fill (1-based), e.g. 3,4; "
                  "overrides --fill_steps.")
flags.DEFINE_integer("seed", 0, "Seed for the training episodes stored beside the input.")
flags.DEFINE_enum("read", None, list(dkm.READ_METHODS), "The read (default: the trained model's "
                  "best half-masked read of stored episodes in its report.json, else "
                  "config.model.read_method).")


class CompletionInputError(ValueError):
  """The input file cannot be completed by this model."""


def load_trained(workdir):
  """(config, params) from a workdir written by kanerva_music.main."""
  config_path = os.path.join(workdir, "config.json")
  if not os.path.exists(config_path):
    raise CompletionInputError(f"{workdir}: no config.json; is this a kanerva_music workdir? "
                               "Train one with python -m kanerva_music.main "
                               "--config=configs/chorales.py --workdir=...")
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  try:
    state, step = checkpointing.restore_trained(workdir, train.create_state(config),
                                                keep=config.checkpoints_to_keep)
  except FileNotFoundError as e:
    raise CompletionInputError(f"{workdir}: no checkpoint, the model is untrained. Train it with "
                               f"python -m kanerva_music.main --config=configs/chorales.py "
                               f"--workdir={workdir}") from e
  logging.info("Loaded %s at step %d", workdir, step)
  return config, state["params"]


def _saved_report(workdir):
  path = os.path.join(workdir, "report.json")
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def best_read(workdir, config):
  """The read with the best half-masked exact recall in the workdir's report.json, else the
  config's headline read."""
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


def read_voices(path):
  """[steps, 4] MIDI pitches (NaN = rest) of a four-voice file, checked against the range."""
  from music21 import converter  # pylint: disable=import-outside-toplevel
  if not os.path.exists(path):
    raise CompletionInputError(f"{path}: no such file")
  try:
    score = converter.parse(path)
  except Exception as e:  # pylint: disable=broad-except  # music21 raises many types
    raise CompletionInputError(f"{path}: music21 cannot read it ({e})") from e
  parts = list(getattr(score, "parts", []))
  grid = bach_corpus.score_to_pitches(score)
  if grid is None:
    raise CompletionInputError(f"{path}: has {len(parts)} parts; expected four voices (soprano, "
                               "alto, tenor, bass), one part each")
  bad = np.argwhere(np.isfinite(grid) & ((grid < episodes.PITCH_LOW) |
                                         (grid > episodes.PITCH_HIGH)))
  if len(bad):
    from music21 import pitch as m21pitch  # pylint: disable=import-outside-toplevel
    notes = sorted({(int(v), int(s) // STEPS_PER_BAR + 1, m21pitch.Pitch(midi=int(grid[s, v])))
                    for s, v in bad}, key=lambda n: (n[1], n[0]))
    listed = ", ".join(f"{bach_corpus.VOICE_NAMES[v]} bar {b} {p.nameWithOctave}"
                       for v, b, p in notes[:12])
    raise CompletionInputError(
        f"{path}: {len(notes)} note(s) outside the model's range MIDI {episodes.PITCH_LOW}-"
        f"{episodes.PITCH_HIGH} (C2-A5): {listed}{' ...' if len(notes) > 12 else ''}")
  return grid


def fill_mask(num_steps, window_steps, fill_steps=None, fill_bars=None):
  """[num_steps] bool, True where a step is to be filled."""
  step = np.arange(num_steps)
  if fill_bars:
    num_bars = -(-num_steps // STEPS_PER_BAR)
    try:
      bars = {int(b) for b in fill_bars}
    except ValueError as e:
      raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: expected bar numbers "
                                 f"1-{num_bars}, e.g. --fill_bars=4,6") from e
    outside = sorted(b for b in bars if not 1 <= b <= num_bars)
    if outside:
      raise CompletionInputError(f"--fill_bars={','.join(fill_bars)}: bar(s) {outside} outside "
                                 f"the piece's bars 1-{num_bars}")
    return np.isin(step // STEPS_PER_BAR + 1, sorted(bars))
  if fill_steps:
    first, _, last = fill_steps.partition("-")
    try:
      first, last = int(first), int(last or first)
    except ValueError as e:
      raise CompletionInputError(f"--fill_steps={fill_steps}: expected a-b within 0-"
                                 f"{window_steps - 1}") from e
    if not 0 <= first <= last < window_steps:
      raise CompletionInputError(f"--fill_steps={fill_steps}: expected a-b within 0-"
                                 f"{window_steps - 1}")
  else:
    first, last = window_steps // 2, window_steps - 1
  within = step % window_steps
  return (within >= first) & (within <= last)


def complete_grid(config, params, grid, to_fill, train_pool, seed=0, read=None, beta=None):
  """Fills grid[to_fill] (steps) by masked iterative reads with `read` (default: the config's;
  `beta` for the attention read); returns the completed pitch grid."""
  window = config.data.episode_steps
  num_windows = -(-len(grid) // window)
  padded = np.full((num_windows * window, 4), np.nan, np.float32)
  padded[: len(grid)] = grid
  fill = np.zeros(len(padded), bool)
  fill[: len(grid)] = to_fill
  x = episodes.normalise(padded)
  observed = np.isfinite(x) & ~fill[:, None]

  # The input's own complete windows (bar-aligned), then training episodes up to T.
  own = [x[s:s + window].reshape(-1) for s in range(0, len(grid) - window + 1, STEPS_PER_BAR)
         if observed[s:s + window].all()]
  num_train = max(0, config.episodes_per_memory - len(own))
  train_eps = np.asarray(episodes.sample_episodes(train_pool, jax.random.PRNGKey(seed),
                                                  (num_train,), window))
  stored = np.concatenate([np.asarray(own, np.float32).reshape(-1, window * 4), train_eps])
  logging.info("Memory: %d windows of the input, %d training episodes", len(own), num_train)
  written = jax.tree_util.tree_map(lambda a: a[0], evaluate.write_memories(
      params, stored[None], config.model))

  empty = [w for w in range(num_windows)
           if fill[w * window:(w + 1) * window].any() and not observed[w * window:(w + 1) * window].any()]
  if empty:
    bars = [f"{w * window // STEPS_PER_BAR + 1}-{(w + 1) * window // STEPS_PER_BAR}" for w in empty]
    raise CompletionInputError(
        f"nothing is given in the {window // STEPS_PER_BAR}-bar window(s) of bars "
        f"{', '.join(bars)}: a read needs some observed notes in each window it fills; fill fewer "
        "bars (e.g. one bar of each window)")
  cues = np.where(observed, x, 0.0).reshape(num_windows, -1)
  masks = observed.reshape(num_windows, -1).astype(np.float32)
  iterates = dkm.iterate_read(written["memory"], cues, masks, num_iters=config.eval.num_iters,
                              obs_noise_std=config.model.obs_noise_std,
                              prior_std=config.model.prior_std,
                              method=read or config.model.read_method,
                              rcond=config.model.lstsq_rcond or None, values=written["values"],
                              beta=beta, top_k=config.model.attention_top_k)
  completed = episodes.to_pitches(np.asarray(iterates[-1])).reshape(-1, 4).astype(np.float64)
  out = padded.astype(np.float64)
  out[fill] = completed[fill]
  return out[: len(grid)]


def main(argv):
  cli.run_reporting_user_errors(_main, argv, (CompletionInputError, FileNotFoundError))


def _main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  for name in ("workdir", "input", "output"):
    if not getattr(FLAGS, name):
      raise app.UsageError(f"--{name} is required")
  config, params = load_trained(FLAGS.workdir)
  grid = read_voices(FLAGS.input)
  to_fill = fill_mask(len(grid), config.data.episode_steps, FLAGS.fill_steps, FLAGS.fill_bars)
  pools, _ = train.load_pools(config)
  read = FLAGS.read or best_read(FLAGS.workdir, config)
  beta = attention_beta(FLAGS.workdir, config) if read == "attention" else None
  logging.info("Reading with %s", read)
  completed = complete_grid(config, params, grid, to_fill, pools["train"], FLAGS.seed, read, beta)
  music_io.write_midi(completed, FLAGS.output)
  wav = os.path.splitext(FLAGS.output)[0] + ".wav"
  synth = music_io.write_wav(completed, wav)
  print(f"Filled {int(to_fill.sum())} of {len(grid)} steps; wrote {FLAGS.output} and {wav} "
        f"({synth} synthesis)")


if __name__ == "__main__":
  app.run(main)
