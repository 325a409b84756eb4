"""The Redis store's fetch leases: one host in the fleet fetches per (section, org).

A lease is ``SET <prefix>lease:<section>:{<org>} <random owner> NX PX <lease_ms>``,
released by its owner only (`rediskeys.RELEASE`, a compare-and-delete), and gone by
itself after `lease_ms` if its holder dies. A process may take a lease for another one it
starts (`hand_over`), which then `adopt`s it: its next `lease` of that (section, org)
checks it still owns it and extends it, instead of finding it busy. That is how the
status line starts at most one background refresh however many renders race.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from . import rediskeys as rk
from .port import LeaseStatus
from .redisnodes import Nodes

__all__ = ["Leases"]


class Leases:
    """The fetch leases under one prefix (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        prefix: str,
        lease_ms: int,
        nodes: Nodes,
        errors: tuple[type[BaseException], ...],
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.lease_ms = lease_ms
        self.nodes = nodes
        self._errors = errors
        self._release = client.register_script(rk.RELEASE)
        self._extend = client.register_script(rk.EXTEND)
        self._handed: dict[str, str] = {}  # lease key -> owner, taken for this process

    def key(self, org_id: str, section: str) -> str:
        return rk.lease_key(self.prefix, section, org_id)

    @contextlib.contextmanager
    def lease(self, org_id: str, section: str) -> Iterator[LeaseStatus]:
        key = self.key(org_id, section)
        handed = self._handed.pop(key, None)
        owner = handed or secrets.token_hex(16)
        try:
            self.nodes.follow_master()  # never a lease on a master Sentinel has demoted
            if handed is not None:
                acquired = self._extend(keys=[key], args=[owner, self.lease_ms])
            else:
                acquired = self.client.set(key, owner, nx=True, px=self.lease_ms)
        except self._errors:
            yield LeaseStatus.UNAVAILABLE
            return
        if not acquired:
            yield LeaseStatus.BUSY
            return
        try:
            yield LeaseStatus.ACQUIRED
        finally:
            self.give_back(org_id, section, owner)  # it expires on its own anyway

    def hand_over(self, org_id: str, section: str) -> tuple[LeaseStatus, str]:
        """Take the lease for another process: its status, and the owner id the other
        process passes to `adopt` (it expires after `lease_ms` if no one does)."""
        owner = secrets.token_hex(16)
        try:
            self.nodes.follow_master()
            acquired = self.client.set(self.key(org_id, section), owner, nx=True, px=self.lease_ms)
        except self._errors:
            return LeaseStatus.UNAVAILABLE, ""
        return (LeaseStatus.ACQUIRED, owner) if acquired else (LeaseStatus.BUSY, "")

    def adopt(self, org_id: str, section: str, owner: str) -> None:
        """This process's next `lease` of (`section`, `org_id`) is the one taken for it."""
        self._handed[self.key(org_id, section)] = owner

    def give_back(self, org_id: str, section: str, owner: str) -> None:
        """Release the lease if `owner` still holds it."""
        with contextlib.suppress(*self._errors):
            self._release(keys=[self.key(org_id, section)], args=[owner])
