"""HTTP: the one hardened request of a fetch (`client`) and its total deadline (`deadline`).

Nothing here knows of stores, lookups or the command line. Empty on purpose: a process
that only reads never imports `requests`.
"""
