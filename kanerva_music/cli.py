"""One clear line per user error, for every binary.

An error the user can fix (a bad flag or config value, missing or corrupt data, an untrained
workdir) prints `error: <what, which file or flag, what to do>` and exits with status 2;
`--verbosity=1` shows the traceback instead. Anything else is a bug and keeps its traceback.
"""

import sys

from absl import logging


def run_reporting_user_errors(main, argv, user_errors):
  """main(argv), turning `user_errors` into one line on stderr and exit status 2."""
  try:
    return main(argv)
  except user_errors as e:
    if logging.get_verbosity() >= 1:
      raise
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
