"""`--mode=generate`: structured drums (Groove) or piano (MAESTRO, corpus) from sampled codes,
written as MIDI and WAV with the checks that they are what was asked for (docs/tcn_wta.md,
"Applications",
3-4)."""

import os

import note_seq
import numpy as np

from music_runtime.files import audio
from music_runtime.training import batching
from music_runtime.training import checkpointing
from tcn_wta.applications import analysis
from tcn_wta.applications import cleaning
from tcn_wta.applications import code_blending
from tcn_wta.applications import codes
from tcn_wta.applications import markov_codes
from tcn_wta.datasets import data
from tcn_wta.datasets import groove
from tcn_wta.datasets import representations
from tcn_wta.reporting import figures
from tcn_wta.training import config_checks

# Offsets within +-0.49 of a step keep every written hit nearer its own grid step than any other,
# MIDI's tick rounding included.
MAX_OFFSET = 0.49


def write_music(seq, stem):
  """stem.mid and stem.wav; returns the synthesiser used for the WAV."""
  note_seq.sequence_proto_to_midi_file(seq, stem + ".mid")
  return audio.write_sequence_wav(seq, stem + ".wav")


def drums_to_sequence(output, qpm, quantize):
  output = np.array(output, np.float32)
  n = groove.NUM_CLASSES
  output[:, 2 * n:] = 0.0 if quantize else np.clip(output[:, 2 * n:], -MAX_OFFSET, MAX_OFFSET)
  seq = groove.tensor_to_sequence(output, qpm)
  seq.time_signatures.add(numerator=4, denominator=4)
  return seq


def structured_drums(config, trained, bank, out_dir):
  """One drum track in the requested structure; returns its facts and checks."""
  g = config.generate
  code, letters = markov_codes.structured_code(bank, g.structure, g.bars_per_section,
                                           np.random.default_rng(g.seed))
  output = codes.make_decoder(trained.net, trained.params)(code[None])[0]
  output = np.asarray(output)
  stem = os.path.join(out_dir, f"drums_{g.structure}_{g.qpm:g}bpm_seed{g.seed}")
  seq = drums_to_sequence(output, g.qpm, g.quantize)
  synth = write_music(seq, stem)
  shown = representations.of(config.data).display(output, config.data)
  figures.save_rolls(stem + ".png", [(f"{g.structure}, {g.bars_per_section} bars per section",
                                      shown)],
                     "Structured drums from sampled beat codes", "drum class")
  n = groove.NUM_CLASSES
  hits = output[:, :n] > 0.5
  back = groove.sequence_to_tensor(note_seq.midi_file_to_note_sequence(stem + ".mid"), g.qpm)
  back_hits = np.zeros_like(hits)
  back_hits[:min(len(back), len(hits))] = back[:len(hits), :n] > 0.5
  section_steps = g.bars_per_section * g.steps_per_bar
  played = np.where(hits[..., None], output.reshape(len(output), 3, n).transpose(0, 2, 1), 0)
  distinct = list(dict.fromkeys(letters))
  sections = {x: played[letters.index(x) * section_steps:(letters.index(x) + 1) * section_steps]
              for x in distinct}
  bars = len(letters) * g.bars_per_section
  return {"structure": g.structure, "bars": bars, "qpm": g.qpm, "hits": int(hits.sum()),
          "hits_per_bar": float(hits.sum() / bars),
          "hits_on_grid": bool(np.array_equal(back_hits, hits)),
          "repeated_sections_equal": markov_codes.repeated_sections_equal(played, letters,
                                                                      section_steps),
          "distinct_sections_differ": all(not np.array_equal(sections[a], sections[b])
                                          for i, a in enumerate(distinct) for b in distinct[i + 1:]),
          "midi": stem + ".mid", "synth": synth}


def density(seq):
  """Notes per second of a NoteSequence."""
  return len(seq.notes) / seq.total_time if seq.total_time else 0.0


def piano(config, trained, bank, out_dir, reference_windows):
  """A piano piece from a sampled code; its note density beside that of held-out windows."""
  g = config.generate
  code = markov_codes.sample_code(bank, g.code_steps, np.random.default_rng(g.seed))
  output = np.asarray(codes.make_decoder(trained.net, trained.params)(code[None])[0])
  seq = representations.of(config.data).to_sequence(output, config.data, qpm=g.qpm)
  stem = os.path.join(out_dir, f"piano_{config.name}_seed{g.seed}")
  synth = write_music(seq, stem)
  shown = representations.of(config.data).display(output, config.data)
  figures.save_rolls(stem + ".png", [("generated", shown)],
                     "Piano from sampled codes", "key",
                     representations.display_time_label(config.data))
  pitches = [note.pitch for note in seq.notes]
  held_out = [density(representations.of(config.data).to_sequence(w, config.data, qpm=g.qpm))
              for w in reference_windows[:config.analysis.midi_size_windows]]
  return {"code_steps": g.code_steps, "seconds": float(seq.total_time), "notes": len(seq.notes),
          "notes_per_second": density(seq), "held_out_notes_per_second": float(np.mean(held_out)),
          "pitch_range": [min(pitches), max(pitches)] if pitches else None,
          "midi": stem + ".mid", "synth": synth}


def compare_generators(config, trained, bank, splits, reference_windows, out_dir):
  """Novelty and note statistics of every code generator (`code_blending`) beside held-out
  windows, a control (training windows reconstructed) and the held-out windows themselves;
  one listening example per generator. None without bars of cells (events, MAESTRO rolls)."""
  rep = representations.of(config.data)
  steps_per_bar = cleaning.steps_per_bar_of(config)
  if rep.cell_scores is None or not steps_per_bar:
    return None
  decode = codes.make_decoder(trained.net, trained.params)
  played_of = lambda arrays: cleaning.played_cells(rep, arrays)
  training, _ = analysis.evaluation_windows(config, splits["train"], config.analysis.bank_windows)
  training_played, held_out = played_of(training), played_of(reference_windows)
  rng = np.random.default_rng(config.generate.seed)
  generated = code_blending.generate(bank, trained.k, config.analysis.generated_windows, rng)
  generated["reconstruction (control)"] = code_blending.dense_codes(bank)[
      rng.choice(len(bank.atoms), len(generated["markov"]), replace=False)]
  out = {}
  for name, code in generated.items():
    outputs = batching.map_in_batches(decode, (code,), config.batch_size)
    out[name] = code_blending.compare(played_of(outputs), training_played, held_out,
                                      steps_per_bar)
    stem = os.path.join(out_dir, "generator_" + name.split(" ")[0])
    write_music(rep.to_sequence(outputs[0], config.data, qpm=config.generate.qpm), stem)
    out[name]["midi"] = stem + ".mid"
  out["held-out windows (reference)"] = code_blending.compare(held_out, training_played,
                                                              held_out, steps_per_bar)
  return {"windows": len(generated["markov"]), "steps_per_bar": steps_per_bar,
          "generators": out}


def run(config, trained, splits, out_dir, reference_windows):
  """Generates what suits the dataset (drums for Groove, piano otherwise) into out_dir, and
  compares the code generators."""
  os.makedirs(out_dir, exist_ok=True)
  bank = analysis.code_bank(config, trained, splits["train"])
  if representations.of(config.data) is representations.DRUMS:
    out = {"drums": structured_drums(config, trained, bank, out_dir)}
  else:
    out = {"piano": piano(config, trained, bank, out_dir, reference_windows)}
  comparison = compare_generators(config, trained, bank, splits, reference_windows, out_dir)
  if comparison:
    out["generators"] = comparison
  return out


def from_checkpoint(config, workdir):
  """`--mode=generate`: music from the latest checkpoint in `workdir` into workdir/generated."""
  config_checks.validate(config)
  checkpointing.require_checkpoint(workdir)  # before minutes of data conversion
  splits, channels = data.load_dataset(config.data)
  config_checks.check_resume(config, workdir, data.data_source(config.data, splits).record(),
                             evaluating=True)
  trained = analysis.Trained(config, workdir, channels)
  windows, _ = analysis.evaluation_windows(config, splits["test"],
                                           config.analysis.midi_size_windows)
  return run(config, trained, splits, os.path.join(workdir, "generated"), windows)
