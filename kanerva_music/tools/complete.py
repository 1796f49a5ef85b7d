r"""Completes your own four-voice chorale with a trained DKM (paper section 4.4) or the
inpainting network, or harmonises a melody.

  python -m kanerva_music.tools.complete --workdir=runs/chorales --input=my_chorale.mid \
      --output=completed.mid [--fill_steps=16-31 | --fill_bars=4,6 | --given_voices=S]
  python -m kanerva_music.tools.complete --workdir=runs/chorales_prior --input=melody.musicxml \
      --output=harmonised.mid --given_voices=S [--sample]

`--given_voices` (letters of SATB) keeps those voices and fills every other one at every step;
the input then holds four parts or just the given ones (in S, A, T, B order). An inpainting
network (`configs/chorales.py:prior`) fills by its one-pass read, or with `--sample` by annealed
Gibbs sampling; trained with a memory, it also reads a memory of the piece's fully given
windows (whole bars away from the window it fills).

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

from kanerva_music.data import bach_corpus
from kanerva_music.data import episodes
from kanerva_music.evaluation import sharded_reads
from kanerva_music.memory import dkm
from kanerva_music.memory import model
from kanerva_music.prior import harmonise
from kanerva_music.prior import memory_context
from kanerva_music.prior import train as prior_train
from kanerva_music.tools import completion_files
from kanerva_music.tools import given_notes
from kanerva_music.tools import user_score
from kanerva_music.training import train
from music_runtime.files import audio
from music_runtime.files import workdir_utils
from music_runtime.running import cli
from music_runtime.training import checkpointing

STEPS_PER_QUARTER = bach_corpus.STEPS_PER_QUARTER

FLAGS = flags.FLAGS


def _define_flags():
  """Defined only when run as a program, so that importing this module (tests) defines none."""
  flags.DEFINE_string("workdir", None, "A trained DKM workdir (holds config.json and checkpoints).")
  flags.DEFINE_string("input", None, "Four-voice MIDI or MusicXML file.")
  flags.DEFINE_string("output", None, "Output MIDI path; a WAV is written beside it.")
  flags.DEFINE_string("fill_steps", None, "Steps of every window to fill, e.g. 16-31 (default: "
                      "the second half of each window).")
  flags.DEFINE_list("fill_bars", None, "Bars of the piece to fill, numbered as printed (a pickup "
                    "is bar 0), e.g. 3,4; overrides --fill_steps.")
  flags.DEFINE_bool("allow_unobserved", False, "Read windows with no given note (the read then "
                    "starts from nothing and returns the memory's most typical content).")
  flags.DEFINE_integer("seed", 0, "Seed for the training episodes stored beside the input (and "
                       "for --sample).")
  flags.DEFINE_string("given_voices", None, "Harmonise: the voices kept as given, letters of "
                      "SATB (S: a melody, B: a bass, SB: both); every other voice is filled at "
                      "every step.")
  flags.DEFINE_bool("sample", False, "An inpainting network fills by annealed Gibbs sampling "
                    "(one coherent piece) instead of its one-pass argmax.")
  flags.DEFINE_enum("read", None, list(dkm.READ_METHODS),
                    "A linear DKM's read (default: the trained model's best half-masked read of "
                    "stored episodes in its report.json, else config.model.read_method).")


def load_trained(workdir):
  """(config, params) from a workdir written by kanerva_music.main."""
  saved = workdir_utils.read_config_json(workdir)
  if not saved:
    raise user_score.CompletionInputError(f"{workdir}: no config.json; is this a kanerva_music workdir? "
                               "Train one with python -m kanerva_music.main "
                               "--config=configs/chorales.py --workdir=...")
  config = ml_collections.ConfigDict(saved)
  if config.get("program", "kanerva_music.main") != "kanerva_music.main":
    raise user_score.CompletionInputError(
        f"{workdir}: holds a run of python -m {config.program}, not of kanerva_music.main; the "
        "completion tool reads chorale models (--config=configs/chorales.py)")
  if config.model.get("kind", "linear") == "codec":
    raise user_score.CompletionInputError(
        f"{workdir}: holds a codec DKM, which this version cannot read; the memory-backed "
        "decoder is the inpainting network (train --config=configs/chorales.py:prior)")
  try:
    if is_prior(config):
      params, best = prior_train.restore_best(
          workdir, prior_train.init_params(config, prior_train.make_net(config)))
      logging.info("Loaded %s: the parameters of step %d", workdir, best["step"])
      return config, params
    state, step = checkpointing.restore_trained(workdir, train.create_state(config),
                                                keep=config.checkpoints_to_keep)
  except FileNotFoundError as e:
    raise user_score.CompletionInputError(f"{workdir}: no checkpoint, the model is untrained. Train it with "
                               f"python -m kanerva_music.main --config=configs/chorales.py "
                               f"--workdir={workdir}") from e
  logging.info("Loaded %s at step %d", workdir, step)
  return config, state["params"]


def is_prior(config):
  return config.model.get("kind", "linear") == "prior"


def model_name(config, read, params=None):
  """What the tool says it read with."""
  if is_prior(config):
    size = prior_train.num_parameters(params) if params is not None else 0
    memory = memory_context.MemoryConfig.of(config.prior)
    held = (f"memory: the piece's fully given windows whole bars from each window "
            f"(K = {memory.num_rows} rows; off where there are none)" if memory.num_rows
            else "memory: none (the network alone)")
    return (f"inpainting network ({config.prior.network}, {size:,} parameters), {read} read; "
            + held)
  return f"linear DKM, {read} read"


def check_read(config, read):
  """A read the workdir's model has (an inpainting network takes no --read)."""
  if is_prior(config):
    raise user_score.CompletionInputError(
        f"--read={read}: the workdir holds an inpainting network, which fills by its one-pass "
        "read (or with --sample by Gibbs sampling)")
  if read not in dkm.READ_METHODS:
    raise user_score.CompletionInputError(f"--read={read}: the workdir holds a linear DKM, whose "
                                          f"reads are {', '.join(dkm.READ_METHODS)}")


def _saved_report(workdir):
  path = os.path.join(workdir, "report.json")
  if not os.path.exists(path):
    return {}
  return workdir_utils.read_json(path, "report")


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
    raise user_score.CompletionInputError(
        f"{workdir}: --read=attention needs a beta: set config.model.attention_beta or write the "
        f"report first (python -m kanerva_music.main --mode=eval --workdir={workdir})")
  return beta


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


def fill_plan(bars, window, given, fill_steps=None, fill_bars=None, given_voices=None):
  """(fill [steps, 4] bool, reads): the entries to fill and the windows that read them."""
  if given_voices:
    fill, reads = user_score.plan_harmonisation(bars.num_steps, window)
    return fill[:, None] & ~user_score.parse_given_voices(given_voices)[None], reads
  fill, reads = user_score.plan_reads(bars, window, given.sum(1), fill_steps, fill_bars)
  if not fill.any():
    which = (f"--fill_steps={fill_steps}" if fill_steps is not None
             else f"the default fill (steps {window // 2}-{window - 1} of each {window}-step "
                  "window from bar 1)")
    raise user_score.CompletionInputError(
        f"nothing to fill: {which} lies past the piece's end ({bars.num_steps} steps, "
        f"{bars.describe(0, bars.num_steps)}); choose the bars with --fill_bars")
  return np.repeat(fill[:, None], 4, axis=1), reads


def complete_grid(config, params, grid, bars, fill_steps=None, fill_bars=None, train_pool=None,
                  seed=0, read=None, beta=None, allow_unobserved=False, given_voices=None,
                  sample=False):
  """Fills the chosen entries of grid (`fill_plan`) by masked iterative reads with `read`
  (default: the config's; `beta` for the attention read), or by the inpainting network."""
  window = config.data.episode_steps
  x = episodes.normalise(grid.astype(np.float32))
  given_notes = np.isfinite(x)
  fill, reads = fill_plan(bars, window, given_notes, fill_steps, fill_bars, given_voices)
  if is_prior(config):
    return _complete_with_prior(config, params, grid, bars, fill, sample, seed)
  observed = given_notes & ~fill
  starts = [s for s, _ in reads]
  cues = _windows(np.where(observed, x, 0.0).astype(np.float32), starts, window, 0.0)
  masks = _windows(observed.astype(np.float32), starts, window, 0.0)
  empty = [s for s, m in zip(starts, masks) if not m.any()]
  if empty and not allow_unobserved:
    raise user_score.CompletionInputError(
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
    out[rows] = np.where(fill[rows], pitches[rows - start], out[rows])
    source = (f"the input's {bars.describe(own_starts[index], own_starts[index] + window)}"
              if index < len(own) else f"training episode {index - len(own)}")
    summary.append(f"Filled {bars.describe(rows[0], rows[-1] + 1)} from the window of "
                   f"{bars.describe(start, start + window)}; {agree:.0%} of its filled notes "
                   f"equal the nearest stored episode ({source})")
  return Completion(out, summary, fill)


def _complete_with_prior(config, params, grid, bars, fill, sample, seed):
  """The inpainting network's fill of the entries `fill` [steps, 4] of grid, window by window
  (`harmonise.fill_piece`); a piece shorter than one window is read padded with hidden steps."""
  window = config.data.episode_steps
  given = np.isfinite(grid) & ~fill
  length = max(len(grid), window)
  classes = np.zeros((length, 4), np.int32)
  classes[:len(grid)] = np.where(given, grid - episodes.PITCH_LOW, 0)
  known = np.zeros((length, 4), np.float32)
  known[:len(grid)] = given
  ev = config.eval
  filled = harmonise.fill_piece(prior_train.make_net(config), params, classes, known,
                                read="gibbs" if sample else "one_pass",
                                rng=jax.random.PRNGKey(seed), num_steps=ev.gibbs_steps,
                                min_share=ev.gibbs_min_share, temperature=ev.gibbs_temperature,
                                memory=memory_context.MemoryConfig.of(config.prior),
                                seed=config.seed)
  out = np.where(fill, filled[:len(grid)] + episodes.PITCH_LOW, grid).astype(np.float64)
  steps = np.flatnonzero(fill.any(1))
  voices = "".join(letter for letter, f in zip(user_score.VOICE_LETTERS, fill.any(0)) if f)
  where = bars.describe(steps[0], steps[-1] + 1) if len(steps) else "no step"
  summary = [f"Filled {int(fill.sum())} entries ({voices or 'none'} of {where}) from "
             f"{int(given.sum())} given ones, windows of {window} steps every "
             f"{harmonise.DEFAULT_HOP}"]
  if memory_context.MemoryConfig.of(config.prior).num_rows:
    whole = int(harmonise.fully_given(known, window)[::memory_context.BAR_STEPS].sum())
    summary.append(f"Memory: {whole} fully given bar-aligned window{'s' * (whole != 1)} of the "
                   "piece" + (" (the memory is off: nothing heard before)" if not whole
                              else ""))
  return Completion(out, summary, fill)


def _read(config, params, stored, cues, masks, read, beta):
  """Pitches [W, C] of the windows cues [W, C] completed under masks [W, C]."""
  written = jax.tree_util.tree_map(lambda a: a[0], sharded_reads.write_memories(
      params, stored[None], config.model))
  iterates = model.iterate_read(written["memory"], cues, masks, config.model,
                                num_iters=config.eval.num_iters,
                                **model.solve_options(config.model),
                                method=read or config.model.read_method,
                                values=written["values"], beta=beta,
                                top_k=config.model.attention_top_k)
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
  completion_files.check_output(FLAGS.output, FLAGS.input)
  if FLAGS.given_voices:
    user_score.parse_given_voices(FLAGS.given_voices)
  config, params = load_trained(FLAGS.workdir)
  if FLAGS.sample and not is_prior(config):
    raise user_score.CompletionInputError(
        f"--sample: {FLAGS.workdir} holds a DKM; sampling is the inpainting network's read "
        "(train one with --config=configs/chorales.py:prior)")
  grid, bars, given, matched = user_score.read_score(FLAGS.input, FLAGS.given_voices)
  # Checked before the data load so that a bad flag fails at once.
  fill_plan(bars, config.data.episode_steps, np.isfinite(grid), FLAGS.fill_steps,
            FLAGS.fill_bars, FLAGS.given_voices)
  if is_prior(config):
    if FLAGS.read:
      check_read(config, FLAGS.read)
    read, beta, train_pool = ("gibbs" if FLAGS.sample else "one_pass"), None, None
  else:
    read = FLAGS.read or best_read(FLAGS.workdir, config)
    check_read(config, read)
    beta = attention_beta(FLAGS.workdir, config) if read == "attention" else None
    pools, source = train.load_pools(config)
    completion_files.check_training_data(FLAGS.workdir, source.record())
    train_pool = pools["train"]
  completion = complete_grid(config, params, grid, bars, FLAGS.fill_steps, FLAGS.fill_bars,
                             train_pool, FLAGS.seed, read, beta, FLAGS.allow_unobserved,
                             FLAGS.given_voices, FLAGS.sample)
  print(f"Model: {model_name(config, read, params)}")
  print("\n".join([f"{matched}."] + completion.summary + chord_lines(given, bars)))
  sequence = given_notes.completed_sequence(given, completion.fill, completion.pitches)
  wav = os.path.splitext(FLAGS.output)[0] + ".wav"
  import note_seq  # pylint: disable=import-outside-toplevel
  # Written beside the output and checked before it replaces anything: a file that lost a
  # given note never lands.
  staged = os.path.join(os.path.dirname(os.path.abspath(FLAGS.output)),
                        f".{os.path.basename(FLAGS.output)}.{os.getpid()}.mid")
  try:
    note_seq.sequence_proto_to_midi_file(sequence, staged)
    kept = given_notes.check_kept(given, completion.fill, staged)
    os.replace(staged, FLAGS.output)
  finally:
    if os.path.exists(staged):
      os.remove(staged)
  synth = audio.write_sequence_wav(sequence, wav, audio.SAMPLE_RATE)
  print(f"Wrote {FLAGS.output} and {wav} ({synth} synthesis); every given note outside the "
        f"filled entries is kept as given ({kept} note parts compared in the written file)")


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
  _define_flags()
  cli.run(main, (user_score.CompletionInputError, given_notes.GivenNoteLostError,
                 FileNotFoundError))
