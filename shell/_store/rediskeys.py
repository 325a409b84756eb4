"""Where the Redis store keeps things, and the one script that writes them.

Keys, under a prefix (``overage-credit-grant:`` by default):

* ``<prefix><section>:{<org>}``: one (section, organization) record, the same JSON as
  the file store's entry;
* ``<prefix>lease:<section>:{<org>}``: the fetch lease of one (section, org);
* ``<prefix>epoch``: a random token that says which dataset this is (see `nearcache`).

The braces are a Redis Cluster hash tag: every key of one organization (its grant, its
backoff, its lease) hashes to the same slot, so the compare-and-set below and a
multi-key read of one org work on a cluster as on a single server.

`COMPARE_AND_SET` is the write: it checks that every record of the org still holds what
the reducer saw, and only then sets (``PX`` the expiry) or deletes the records the
reducer changed; it answers 0, writing nothing, when another host got there first.
Values travel encoded: ``""`` is "absent", ``"=" + json`` is "present"; for the new
value, ``"*"`` is "leave as it is".

The reducers see a *view* (`view`): ``{section: {org: entry}}`` built from the records
read; `changes` turns the reducer's answer into the script's arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from .port import Config

__all__ = [
    "ABSENT",
    "COMPARE_AND_SET",
    "DEFAULT_PREFIX",
    "EXTEND",
    "KEEP",
    "RELEASE",
    "Named",
    "changes",
    "encoded",
    "entry_key",
    "epoch_key",
    "glob_escape",
    "lease_key",
    "org_of",
    "section_pattern",
    "view",
]

DEFAULT_PREFIX: Final = "overage-credit-grant:"
ABSENT: Final = ""
KEEP: Final = "*"

COMPARE_AND_SET: Final = """
for i, key in ipairs(KEYS) do
  local have = redis.call('get', key)
  local want = ARGV[2 * i]
  if have then
    if want ~= '=' .. have then return 0 end
  elseif want ~= '' then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  local new = ARGV[2 * i + 1]
  if new == '' then
    redis.call('del', key)
  elseif new ~= '*' then
    redis.call('set', key, string.sub(new, 2), 'px', ARGV[1])
  end
end
return 1
"""

RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

EXTEND: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def encoded(value: bytes | str | None) -> str | bytes:
    """A record's value as `COMPARE_AND_SET` takes it."""
    if value is None:
        return ABSENT
    return b"=" + value if isinstance(value, bytes) else "=" + value


def entry_key(prefix: str, section: str, org_id: str) -> str:
    return f"{prefix}{section}:{{{org_id}}}"


def lease_key(prefix: str, section: str, org_id: str) -> str:
    return f"{prefix}lease:{section}:{{{org_id}}}"


def epoch_key(prefix: str) -> str:
    return f"{prefix}epoch"


def glob_escape(text: str) -> str:
    """`text` as a literal in a Redis glob pattern."""
    for special in ("\\", "*", "?", "[", "]"):
        text = text.replace(special, "\\" + special)
    return text


def section_pattern(prefix: str, section: str) -> str:
    """The SCAN pattern of every record of `section`."""
    return glob_escape(f"{prefix}{section}:{{") + "*}"


def org_of(key: bytes | str, prefix: str, section: str) -> str | None:
    """The org of a record's key, or None when the key is not one of `section`'s."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    head = f"{prefix}{section}:{{"
    if not (text.startswith(head) and text.endswith("}")):
        return None
    return text[len(head) : -1]


def view(raw: Mapping[tuple[str, str], bytes | None]) -> Config:
    """The config the reducers see, from (section, org) -> the record's bytes (None:
    absent). A record that is not JSON is kept as text: never trusted, and replaced."""
    found: dict[str, dict[str, object]] = {}
    for (section, org), data in raw.items():
        if data is None:
            continue
        try:
            entry: object = json.loads(data)
        except (ValueError, RecursionError):
            entry = data.decode("utf-8", "replace")
        found.setdefault(section, {})[org] = entry
    return found


def _entry_in(config: Config, section: str, org_id: str) -> object | None:
    table = config.get(section)
    return table.get(org_id) if isinstance(table, Mapping) else None


def changes(
    prev: Config,
    nxt: Config,
    names: tuple[str, ...],
    org_id: str,
    values: list[bytes | None],
) -> list[str | bytes]:
    """`COMPARE_AND_SET`'s arguments after the expiry (what each record held, what it
    becomes), or [] when the reducer changed no record."""
    args: list[str | bytes] = []
    changed = False
    for name, old in zip(names, values, strict=True):
        entry = _entry_in(nxt, name, org_id)
        args.append(encoded(old))
        if entry == _entry_in(prev, name, org_id):
            args.append(KEEP)
        else:
            changed = True
            args.append(ABSENT if entry is None else "=" + json.dumps(entry))
    return args if changed else []


class Named:
    """What a store on Redis says of itself: the URL without its passwords, the prefix;
    the same for every store object on the same Redis and prefix (`key`)."""

    _location: str
    prefix: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._location!r}, prefix={self.prefix!r})"

    @property
    def key(self) -> str:
        return f"{self._location}#{self.prefix}"

    @property
    def location(self) -> str:
        return f"{self._location} (prefix {self.prefix!r})"
