"""Groove MIDI drums as the GrooVAE tensor (docs/data.md, Groove).

A 16th-note grid (4 steps per quarter) with 27 channels: hits [0:9], velocities [9:18] (MIDI
velocity / 127) and offsets [18:27] ((onset - grid time) / step length, in [-0.5, 0.5]) for the
nine drum classes of Magenta's ROLAND_DRUM_PITCH_CLASSES. Several notes of one class on one step:
the loudest is kept.
"""

import os

import numpy as np

from music_runtime.files import dataset_cache
from music_runtime.files import midi_reader

DRUM_CLASSES = (
    (36,),               # kick
    (38, 37, 40),        # snare
    (42, 22, 44),        # closed hi-hat
    (46, 26),            # open hi-hat
    (43, 58),            # low tom
    (47, 45),            # mid tom
    (50, 48),            # high tom
    (49, 52, 55, 57),    # crash
    (51, 53, 59),        # ride
)
NUM_CLASSES = len(DRUM_CLASSES)
CHANNELS = 3 * NUM_CLASSES
STEPS_PER_QUARTER = 4
PITCH_TO_CLASS = {p: i for i, pitches in enumerate(DRUM_CLASSES) for p in pitches}
LABELS = ("drummer", "style", "bpm", "beat_type")


def step_seconds(qpm):
  return 60.0 / qpm / STEPS_PER_QUARTER


def sequence_to_tensor(sequence, qpm):
  """NoteSequence -> [steps, 27] GrooVAE tensor at tempo qpm; drums outside the map are dropped."""
  step = step_seconds(qpm)
  drum_notes = [n for n in sequence.notes if n.pitch in PITCH_TO_CLASS]
  end = max([n.start_time for n in drum_notes], default=0.0)
  num_steps = int(np.floor(end / step + 0.5)) + 1
  tensor = np.zeros((num_steps, CHANNELS), np.float32)
  for note in drum_notes:
    cls = PITCH_TO_CLASS[note.pitch]
    s = int(np.floor(note.start_time / step + 0.5))
    velocity = note.velocity / 127.0
    if tensor[s, cls] and tensor[s, NUM_CLASSES + cls] >= velocity:
      continue  # a louder note of this class already holds the step
    tensor[s, cls] = 1.0
    tensor[s, NUM_CLASSES + cls] = velocity
    tensor[s, 2 * NUM_CLASSES + cls] = np.clip(note.start_time / step - s, -0.5, 0.5)
  return tensor


def tensor_to_sequence(tensor, qpm, hit_threshold=0.5):
  """[steps, 27] -> NoteSequence with one note per hit (class's first pitch), 1 step long."""
  import note_seq  # pylint: disable=import-outside-toplevel
  tensor = np.asarray(tensor)
  step = step_seconds(qpm)
  seq = note_seq.NoteSequence()
  seq.tempos.add(qpm=qpm)
  seq.ticks_per_quarter = note_seq.STANDARD_PPQ
  for s, cls in np.argwhere(tensor[:, :NUM_CLASSES] > hit_threshold):
    start = (s + float(np.clip(tensor[s, 2 * NUM_CLASSES + cls], -0.5, 0.5))) * step
    velocity = int(np.clip(round(float(tensor[s, NUM_CLASSES + cls]) * 127), 1, 127))
    seq.notes.add(pitch=DRUM_CLASSES[cls][0], velocity=velocity, start_time=max(start, 0.0),
                  end_time=max(start, 0.0) + step, is_drum=True, instrument=9)
  seq.total_time = len(tensor) * step
  return seq


def read_info(root):
  """Rows of info.csv (4/4 only), each with its split and labels."""
  rows = dataset_cache.read_csv_rows(
      os.path.join(root, "info.csv"),
      "no Groove MIDI Dataset here. Download groove-v1.0.0-midionly.zip from the Magenta datasets "
      "page (magenta.tensorflow.org/datasets/groove), unzip it and pass its folder with "
      "--config.data.root=/path/to/groove")
  return [row for row in rows if row["time_signature"] == "4-4"]


def load_file(root, row):
  """The tensor of one info.csv row (raises on an unreadable MIDI file)."""
  sequence = midi_reader.note_sequence(os.path.join(root, row["midi_filename"]))
  return sequence_to_tensor(sequence, float(row["bpm"]))
