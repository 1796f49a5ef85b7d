"""What the completion tool may read and write: an output that never replaces its input by any
path nor lands in a workdir in use, and training episodes of the data the run was trained on."""

import os

from kanerva_music.tools import user_score
from music_runtime.files import workdir_lock
from music_runtime.files import workdir_utils


def check_training_data(workdir: str, loaded: dict) -> None:
  """Refuses to fill the memory with training episodes of other data than the run was trained
  on (`provenance`: the SHA-256 of the arrays), naming both."""
  _, trained_on = workdir_utils.read_run_record(workdir)
  if trained_on and trained_on.get("sha256") != loaded.get("sha256"):
    line = lambda p: f"{p.get('kind')} {p.get('path') or ''} (sha256 {str(p.get('sha256'))[:12]})"
    raise user_score.CompletionInputError(
        f"{workdir} was trained on {line(trained_on)}, but its training episodes would come "
        f"from {line(loaded)}: point KANERVA_MUSIC_DATA (or the run's data.path) at the data "
        "it was trained on")


def same_file(a: str, b: str) -> bool:
  """Whether paths a and b name one file (links, relative paths and hard links resolved)."""
  if os.path.realpath(a) == os.path.realpath(b):
    return True
  try:
    return os.path.samefile(a, b)
  except OSError:  # one of them does not exist yet
    return False


def check_output(output: str, source: str) -> None:
  """Refuses, before any work, an --output (or the WAV beside it) that is the input file by any
  path, that is not a .mid path, whose folder does not exist, or that lies in a workdir in use."""
  if os.path.splitext(output)[1].lower() not in (".mid", ".midi"):
    raise user_score.CompletionInputError(f"--output={output}: expected a .mid path (a WAV is "
                                          "written beside it)")
  wav = os.path.splitext(output)[0] + ".wav"
  for path, what in ((output, "is the input file"), (wav, f"its WAV {wav} is the input file")):
    if same_file(path, source):
      raise user_score.CompletionInputError(f"--output={output} {what}: it would be "
                                            "overwritten; write the completion elsewhere")
  folder = os.path.dirname(os.path.abspath(output))
  if not os.path.isdir(folder):
    raise user_score.CompletionInputError(f"--output={output}: no folder {folder}; create it "
                                          "first")
  workdir_lock.check_unlocked(output, "--output")
