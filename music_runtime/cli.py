"""One clear line per user error, for every binary.

An error the user can fix (a bad flag, an unknown config key, a bad config value, missing or
corrupt data, an untrained workdir) prints `error: <what, which file or flag, what to do>` and
exits with status 2; `--verbosity=1` shows the traceback instead. Anything else is a bug and keeps
its traceback.
"""

import os
import re
import sys

from absl import app
from absl import flags
from absl import logging

from music_runtime import compilation_cache
from music_runtime import distributed
from music_runtime import quiet_logs


def _verbose(argv):
  return any(re.fullmatch(r"--(verbosity|v)=[1-9]\d*", a) for a in argv)


def _flag_error_line(error, argv):
  """One line for a flag or config-override that does not parse."""
  text = str(error)
  if isinstance(error, KeyError):  # ml_collections: an unknown key in --config.a.b=...
    text = text.strip("'\"").replace("\\n", "\n").replace("\\'", "'")
    key, _, hint = text.partition("\n")
    key = key.strip("'\"")
    flag = next((a for a in argv if re.search(rf"\.{re.escape(key)}(\.|=|$)", a)), None)
    return (f"{flag.split('=')[0] if flag else key}: unknown config key {key!r}"
            + (f"; {hint.strip()}" if hint else ""))
  # Config files that fail to load carry a traceback in their message: keep its last line.
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  if len(lines) > 1 and "Traceback" in text:
    return f"{lines[0]} {lines[-1]}"
  return " ".join(lines)


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except (flags.Error, KeyError, AttributeError, OSError, ValueError, TypeError) as e:
    if _verbose(argv):
      raise
    print(f"error: {_flag_error_line(e, argv)}", file=sys.stderr)
    sys.exit(2)


def start_job(argv, config, workdir):
  """The common start of a training binary: no stray arguments, the workdir (default
  runs/<config.name>), multi-host initialisation. Returns the workdir."""
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  workdir = workdir or os.path.join("runs", config.name)
  distributed.initialize_from_flags(os.environ)
  logging.info("Workdir: %s", os.path.abspath(workdir))
  return workdir


def run(main, user_errors=()):
  """app.run(main) with quiet logs (and the compilation cache if asked for), where bad flags and
  `user_errors` print one line and exit with status 2."""
  def checked_main(argv):
    quiet_logs.install()
    compilation_cache.enable()
    try:
      return main(argv)
    except (app.UsageError,) + tuple(user_errors) as e:
      if logging.get_verbosity() >= 1:
        raise
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)

  app.run(checked_main, flags_parser=_parse_flags)
