"""One clear line per user error, for every binary.

An error the user can fix (a bad flag, an unknown config key, a bad config value, missing or
corrupt data, an untrained workdir) prints `error: <what, which file or flag, what to do>` and
exits with status 2; `--verbosity=1` shows the traceback instead. Anything else is a bug and keeps
its traceback. Ctrl-C or SIGTERM stops a binary with one line (exit 130 or 143) once the
files it was writing are cleaned up: checkpoints and reports are written whole or not at all.
"""

import errno
import os
import re
import signal
import sys
import traceback

from absl import app
from absl import flags
from absl import logging

from music_runtime.files import dataset_cache
from music_runtime.files import workdir_lock
from music_runtime.files import workdir_utils
from music_runtime.running import compilation_cache
from music_runtime.running import quiet_logs
from music_runtime.training import checkpointing
from music_runtime.training import distributed
from music_runtime.training import sharding

# Errors of the runtime itself that a user can fix (every binary treats them as user errors).
RUNTIME_USER_ERRORS = (workdir_lock.WorkdirLockedError, workdir_lock.WorkdirAccessError,
                       workdir_utils.WorkdirFileError, sharding.MeshDevicesError,
                       sharding.IndivisibleBatchError, dataset_cache.DatasetError,
                       checkpointing.CheckpointMismatchError,
                       checkpointing.CheckpointBusyError, checkpointing.CorruptCheckpointError)
# OS errors that say something about the user's files or machine, not about the code.
_USER_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                errno.ENOTDIR, errno.EISDIR)
_MAX_LINE = 1000


def _verbose(argv):
  return any(re.fullmatch(r"--(verbosity|v)=[1-9]\d*", a) for a in argv)


def _flag_error_line(error, argv):
  """One line for a flag or config-override that does not parse."""
  text = str(error)
  # ml_collections: an unknown key in --config.a.b=... (a KeyError, or for a top-level key an
  # AttributeError holding the KeyError's repr).
  if isinstance(error, KeyError) or (isinstance(error, AttributeError)
                                     and "Did you mean" in text):
    text = text.strip("'\"").replace("\\n", "\n").replace("\\'", "'")
    key, _, hint = text.partition("\n")
    key = key.strip("'\"")
    flag = next((a for a in argv if re.search(rf"\.{re.escape(key)}(\.|=|$)", a)), None)
    hint = hint.strip().strip("'\"").strip()
    return (f"{flag.split('=')[0] if flag else key}: unknown config key {key!r}"
            + (f"; {hint}" if hint else ""))
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
    print(f"error: {_one_line(_flag_error_line(e, argv))}", file=sys.stderr)
    sys.exit(2)
  except Exception as e:  # pylint: disable=broad-except  # the config file's own code raised
    if _verbose(argv):
      raise
    print(f"error: {_one_line(_config_file_error(e, argv))}", file=sys.stderr)
    sys.exit(2)


def _config_file_error(error, argv):
  """One line for a config file whose code raises (or does not compile): the file and line."""
  config = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), "the config")
  where = ""
  if isinstance(error, SyntaxError):
    where = f" at line {error.lineno}"
  else:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.basename(f.filename) == os.path.basename(config.split(":")[0])]
    where = f" at line {frames[-1].lineno}" if frames else ""
  return (f"--config={config}: the config file raised {type(error).__name__}{where}: "
          f"{getattr(error, 'msg', None) or error}")


def _one_line(text):
  """`text` on one line, shortened when a flag's value would make it unreadable."""
  text = " ".join(str(text).split())
  return text if len(text) <= _MAX_LINE else text[:_MAX_LINE - 5] + " ..."


def start_job(argv, config, workdir):
  """The common start of a training binary: no stray arguments, the workdir (default
  runs/<config.name>), multi-host initialisation. Returns the workdir."""
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if workdir is not None and not workdir.strip():
    raise app.UsageError("--workdir is empty: pass a folder, or leave the flag out for "
                         f"runs/{config.name}")
  workdir = workdir or os.path.join("runs", config.name)
  workdir_lock.check_writable_dir(workdir)
  distributed.initialize_from_flags(os.environ)
  logging.info("Workdir: %s", os.path.abspath(workdir))
  return workdir


class Terminated(KeyboardInterrupt):
  """SIGTERM (a batch system's stop), raised where the program is so that it unwinds like
  Ctrl-C: staged reports removed, the workdir lock released."""


def _raise_terminated(signum, frame):  # pylint: disable=unused-argument
  raise Terminated()


def _stopped(e: KeyboardInterrupt):
  """One line, then exit at once: background compilations are not waited for."""
  code = 143 if isinstance(e, Terminated) else 130
  what = "terminated (SIGTERM)" if code == 143 else "interrupted (Ctrl-C)"
  print(f"{what}: stopped; the workdir keeps its last finished checkpoint and its previous "
        "report (nothing half-written is left)", file=sys.stderr)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)  # pylint: disable=protected-access


def call_main(main, argv, user_errors=()):
  """main(argv), where a user error prints one `error:` line and exits with status 2 (with
  `--verbosity=1` it raises, traceback and all); Ctrl-C and SIGTERM print one line."""
  try:
    return main(argv)
  except KeyboardInterrupt as e:
    if logging.get_verbosity() >= 1:
      raise
    _stopped(e)
  except (app.UsageError,) + RUNTIME_USER_ERRORS + tuple(user_errors) as e:
    if logging.get_verbosity() >= 1:
      raise
    print(f"error: {_one_line(e)}", file=sys.stderr)
    sys.exit(2)
  except OSError as e:
    if "Failed loading config file" in str(e) and logging.get_verbosity() < 1:
      # ml_collections loads --config lazily: a missing file surfaces at its first use.
      last = [line.strip() for line in str(e).splitlines() if line.strip()][-1]
      print(f"error: --config: {last}; run from the repository root or pass the config "
            "file's full path", file=sys.stderr)
      sys.exit(2)
    if e.errno not in _USER_ERRNOS or logging.get_verbosity() >= 1:
      raise
    where = f"{e.filename}: " if e.filename else ""
    print(f"error: {where}{e.strerror or e}; nothing after this point was written",
          file=sys.stderr)
    sys.exit(2)


def run(main, user_errors=()):
  """app.run(main) with quiet logs (and the compilation cache if asked for), where bad flags and
  `user_errors` print one line and exit with status 2."""
  def checked_main(argv):
    signal.signal(signal.SIGTERM, _raise_terminated)
    quiet_logs.install()
    compilation_cache.enable()
    return call_main(main, argv, user_errors)

  app.run(checked_main, flags_parser=_parse_flags)
