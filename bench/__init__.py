"""Benchmarks, side by side in one run, written to bench/RESULTS.md.

    python -m bench                  # every section, then bench/RESULTS.md (a few minutes)
    python -m bench redis coalescing # some sections, printed (RESULTS.md is left alone)
    python -m bench --quick          # tiny sizes, for a smoke test
    python -m bench --list           # the sections

One module per section (`hot_read`, `cold_start`, `writes`, `coalescing`, `update_cost`,
`contention`, `fleet`, `near_cache`), each with a `run(report, folder, quick, redis_url)`; `_common`
holds the timing helpers, sample configs and servers they share. Every figure compares
candidates measured in the same run, interleaved round by round, and is reported as a
ratio of medians: these machines are noisy, ratios less so. Writes are counted by the
config file's inode and mtime, requests by the backend.
"""
