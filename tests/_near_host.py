"""A host of a fleet for the near cache tests: reads the grant in a tight loop and says
when what it reads changes.

    python _near_host.py REDIS_URL PREFIX ORG

Prints ``{"ready": true}`` once its near cache serves, then one JSON line per change it
sees: ``{"amount": <amount or null>, "at": <wall clock seconds>, "hits": <near hits>}``.
Stops when stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def main(url: str, prefix: str, org: str) -> int:
    from overage_credit_grant.shell import GRANT, RedisStore, Settings

    store = RedisStore.from_url(url, prefix=prefix)
    settings = Settings(config_path="unused.json", organization=org, store=store)
    near = store.near
    assert near is not None
    GRANT.get(settings)
    while not near.serving:
        time.sleep(0.01)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    last: object = "unset"
    print(json.dumps({"ready": True}), flush=True)
    while not stop.is_set():
        info = GRANT.get(settings)
        amount = None if info is None else info.amount_minor_units
        if amount != last:
            last = amount
            print(
                json.dumps({"amount": amount, "at": time.time(), "hits": near.stats["hits"]}),
                flush=True,
            )
        time.sleep(0.0002)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
