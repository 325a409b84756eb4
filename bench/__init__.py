"""Benchmarks, side by side in one run; the report is printed, or written on request.

    python -m bench --write          # every section, written to bench/RESULTS.md
    python -m bench                  # every section, printed (RESULTS.md is left alone)
    python -m bench redis coalescing # some sections, printed
    python -m bench --quick          # tiny sizes, for a smoke test
    python -m bench --list           # the sections

One module per section (`hot_read`, `cold_start`, `writes`, `coalescing`, `update_cost`,
`contention`, `fleet`, `near_cache`), each with a `run(report, folder, quick, redis_url)`; `_common`
holds the timing helpers, sample configs and servers they share. Every figure compares
candidates measured in the same run, interleaved round by round, and is reported as a
ratio of medians: these machines are noisy, ratios less so. Writes are counted by the
config file's inode and mtime, requests by the backend.
"""
