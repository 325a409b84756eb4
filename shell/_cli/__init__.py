"""The ``overage-grant`` command line: `entry` (the console script), `argv` (the fast
parser), `parser` (argparse, for help and usage errors), `commands`, `status`,
`statusline`, `demo` and `server` (the reference backend).

Nothing below the command line imports it. Empty on purpose: each command loads only
what it uses.
"""
