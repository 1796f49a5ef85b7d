"""Quiet logs by default: our progress stays, third-party chatter goes.

Orbax logs every checkpoint step at INFO (over half of a training log), and pydub warns about
ffmpeg on import although we never ask it to decode audio. `--verbosity=1` (absl) shows them.
"""

import logging
import warnings

from absl import logging as absl_logging

_CHATTY = ("/orbax/", "/etils/")


class _DropThirdPartyInfo(logging.Filter):

  def filter(self, record):
    return record.levelno >= logging.WARNING or not any(p in record.pathname for p in _CHATTY)


def install():
  """Call at the start of a binary's main()."""
  warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
  if absl_logging.get_verbosity() >= 1:  # --verbosity=1 or more: show everything
    return
  handler = absl_logging.get_absl_handler()
  if not any(isinstance(f, _DropThirdPartyInfo) for f in handler.filters):
    handler.addFilter(_DropThirdPartyInfo())
