"""Stores: where the cached config lives, behind one port (`port.Store`).

`files` (the JSON file store's lock-free read side) with `filewrite` (its locked,
crash-safe write side), `lease` (fetch leases as byte-range locks) and `jsonio` (bounded
reads, parse and the bytes we write); `redis` (a store for a fleet) with `nearcache` and
`tracking` (its coherent in-process cache). Nothing here knows of lookups, HTTP or the
command line. Empty on purpose: importing a store loads only that store.
"""
