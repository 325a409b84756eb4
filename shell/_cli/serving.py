"""``overage-grant serve``: the reference backend in the foreground.

It says where it listens on stderr (and, under ``--json``, in one JSON object on stdout),
then logs one line per request until SIGINT or SIGTERM.
"""

from __future__ import annotations

import sys
from typing import Any

from .output import EXIT_OK, CommandFailed

__all__ = ["cmd_serve"]


def cmd_serve(args: Any) -> int:
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from .server import (  # noqa: PLC0415
        SAMPLE_ORG,
        SAMPLE_TOKEN,
        Backend,
        ReferenceServer,
        load_backend,
        serve_forever,
    )

    try:
        backend = load_backend(Path(args.grants)) if args.grants else Backend.sample()
    except ValueError as exc:
        raise CommandFailed(str(exc), status="bad_grants_file") from None
    try:
        server = ReferenceServer(backend, host=args.host, port=args.port, log_to=sys.stderr)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CommandFailed(
            f"cannot listen on {args.host}:{args.port}: {reason}", status="cannot_listen"
        ) from None

    def announce() -> None:
        print(f"serving the reference backend on {server.base_url}", file=sys.stderr, flush=True)
        sample = args.grants is None
        if sample:
            print(
                f"built-in sample: organization {SAMPLE_ORG}, token {SAMPLE_TOKEN}",
                file=sys.stderr,
                flush=True,
            )
        if args.json:
            said: dict[str, object] = {"status": "serving", "base_url": server.base_url}
            if sample:
                said.update(organization=SAMPLE_ORG, token=SAMPLE_TOKEN)
            print(json.dumps(said), flush=True)

    serve_forever(server, announce)
    return EXIT_OK
