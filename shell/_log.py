"""The package's logger, created on first use so that a read never imports `logging`.

The library installs no handlers. A command-line front end calls `quiet()` first: it
reports failures in its own one-line errors, so the records go to a `NullHandler`
instead of Python's last-resort stderr printer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

__all__ = ["LOGGER_NAME", "logger", "quiet"]

LOGGER_NAME = "overage_credit_grant"
_quiet = [False]


def quiet() -> None:
    """Send this package's records nowhere unless the app configured logging itself."""
    _quiet[0] = True


def logger() -> logging.Logger:
    import logging  # noqa: PLC0415

    log = logging.getLogger(LOGGER_NAME)
    if _quiet[0] and not log.handlers:
        log.addHandler(logging.NullHandler())
    return log
