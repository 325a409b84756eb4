"""Single flight: one piece of work per key at a time in this process, shared by all callers.

The first caller for a key becomes the leader and runs the work; everyone who asks for
the same key while it runs (threads, and asyncio tasks through `asyncio.wrap_future`)
gets the leader's `Future` and its result. The future is marked running as soon as it
exists, so no caller can cancel it out from under the others: cancelling an awaiting
task abandons only that task's wait. After a fork, the child forgets flights whose
leader threads did not come with it.
"""

from __future__ import annotations

import _thread
import os
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

from ._log import logger

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["done", "join_or_lead", "lead"]

R = TypeVar("R")

# Own table, not a memo: the flights in progress; forgetting one would let a second fetch
# of the same key start beside it.
_lock = _thread.allocate_lock()
_flights: dict[Hashable, Future[object]] = {}


def _forget_after_fork() -> None:
    global _lock  # noqa: PLW0603  (a fresh lock: the parent's may be held)
    _lock = _thread.allocate_lock()
    _flights.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _new_future() -> Future[object]:
    from concurrent.futures import Future  # noqa: PLC0415  (readers never pay for it)

    future: Future[object] = Future()
    future.set_running_or_notify_cancel()  # cancel() now returns False: it cannot be taken away
    return future


def done(result: R) -> Future[R]:
    """A future that already holds `result`."""
    future = _new_future()
    future.set_result(result)
    return future  # type: ignore[return-value]


def join_or_lead(key: Hashable) -> tuple[Future[R], bool]:
    """The flight of `key` and whether the caller leads it (and so must call `lead`)."""
    with _lock:
        running = _flights.get(key)
        if running is not None:
            return running, False  # type: ignore[return-value]
        future = _flights[key] = _new_future()
        return future, True  # type: ignore[return-value]


def lead(
    key: Hashable, future: Future[R], work: Callable[[], R], on_crash: Callable[[str], R]
) -> None:
    """Run the work of `key`'s flight and hand its result to every caller.

    An exception in `work` (a bug) is logged and turned into `on_crash(type name)`.
    """
    try:
        result = work()
    except Exception as exc:
        logger().exception("a refresh failed unexpectedly")
        result = on_crash(type(exc).__name__)
    except BaseException as exc:  # an interrupt: the joiners must not wait forever
        _finish(key, future, on_crash(type(exc).__name__))
        raise
    _finish(key, future, result)


def _finish(key: Hashable, future: Future[R], result: R) -> None:
    with _lock:
        _flights.pop(key, None)
    future.set_result(result)
