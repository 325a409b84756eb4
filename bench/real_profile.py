"""Section 9: where the user is. A real Claude Code profile, nothing in the environment.

Each profile is a HOME as a logged-in Claude Code user has it (`bench/profiles.py`):
`~/.claude.json` of 0.4 KB, 1.1 MB or 5.8 MB in Claude Code's own indented form, holding
the organization and Claude Code's fresh grant; the credentials file; our cache at its
default place. The commands get `HOME` and `PATH` and nothing else, and the status line
gets on stdin the JSON Claude Code sends. Every figure is a median of ratios paired
round by round with the import floor (`python -c "import json, returns.maybe,
returns.result"`) run in the same round.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import profiles
from ._common import Report, fmt_s, per_call

NAME = "real-profile"
TITLE = "9. A real Claude Code profile"

SIZES = [("0.4 KB", 400), ("1.1 MB", 1_100_000), ("5.8 MB", 5_800_000)]
PEERS = {"ccusage": "20.0.24", "ccstatusline": "2.2.30"}
GOALS = {
    "render, nothing changed": 0.5,
    "render after Claude Code rewrote its file": 1.2,
    "show --no-refresh": 1.2,
}
# Measured and shown beside the goals, not one of them: the full render that follows
# Claude Code's own refetch of the grant (it stamps its entry anew, about once an hour).
FULL_RENDER = "render after Claude Code fetched a new grant"


def statusline_input(home: Path) -> bytes:
    """What Claude Code writes to a status line command's stdin."""
    transcript = home / ".claude" / "projects" / "-home-me-src" / "s1.jsonl"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text(
        '{"type":"user","message":{"role":"user","content":"hi"},'
        '"timestamp":"2026-11-30T10:00:00Z","sessionId":"s1"}\n'
    )
    said = {
        "session_id": "s1",
        "transcript_path": str(transcript),
        "cwd": "/home/me/src",
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": "/home/me/src", "project_dir": "/home/me/src"},
        "version": "2.0.30",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 0.01, "total_duration_ms": 1000},
    }
    return json.dumps(said).encode()


def wall(command: list[str], env: dict[str, str], stdin: bytes) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        input=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    return time.perf_counter() - started


def peak_rss_kb(command: list[str], env: dict[str, str], stdin: bytes) -> int | None:
    """The command's peak RSS, through GNU time (a small parent: wait4's figure for a child
    of this big Python process would start from this process's own)."""
    timer = shutil.which("time", path="/usr/bin") or "/usr/bin/time"
    if not os.path.exists(timer):
        return None
    done = subprocess.run(
        [timer, "-f", "%M", *command], input=stdin, capture_output=True, env=env, check=False
    )
    try:
        return int(done.stderr.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def install_peers(folder: Path) -> dict[str, list[str]]:
    """The status line tools Claude Code users run, from the npm registry, when npm is here."""
    npm = shutil.which("npm")
    if npm is None:
        return {}
    prefix = folder / "peers"
    specs = [f"{name}@{version}" for name, version in PEERS.items()]
    done = subprocess.run(
        [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), *specs],
        capture_output=True,
        timeout=600,
        check=False,
    )
    bin_dir = prefix / "node_modules" / ".bin"
    if done.returncode != 0:
        return {}
    found = {}
    if (bin_dir / "ccusage").exists():
        found["ccusage statusline"] = [str(bin_dir / "ccusage"), "statusline"]
    if (bin_dir / "ccstatusline").exists():
        found["ccstatusline"] = [str(bin_dir / "ccstatusline")]
    return found


class Profile:
    """One profile's HOME, config and the commands timed against it."""

    def __init__(self, folder: Path, size: int) -> None:
        self.home = folder / f"home-{size}"
        self.config = profiles.build(self.home, size)
        self.env = {"HOME": str(self.home), "PATH": os.environ.get("PATH", "")}
        self.stdin = statusline_input(self.home)
        script = str(Path(sys.executable).with_name("overage-grant"))
        self.render = [script, "statusline"]
        self.show = [script, "show", "--no-refresh"]
        self.floors: list[float] = []

    def paired(self, command: list[str], n: int) -> float:
        """The command's time over the floor's, run next to it, in turn first and second
        (so that neither gains from going first after a rewrite)."""
        if n % 2:
            spent, base = self.wall(command), self.wall(FLOOR)
        else:
            base, spent = self.wall(FLOOR), self.wall(command)
        self.floors.append(base)
        return spent / base

    def wall(self, command: list[str]) -> float:
        return wall(command, self.env, self.stdin)


FLOOR = [sys.executable, "-c", "import json, returns.maybe, returns.result"]


def measure(profile: Profile, rounds: int, peers: dict[str, list[str]]) -> dict[str, float]:
    """Median ratios to the floor of every command, on one profile."""
    names = ["python -c pass", *GOALS, FULL_RENDER, *peers]
    ratios: dict[str, list[float]] = {name: [] for name in names}
    profile.wall(profile.render)  # the render before: nothing changes after it
    for n in range(rounds):
        ratios["python -c pass"].append(profile.paired([sys.executable, "-c", "pass"], n))
        ratios["render, nothing changed"].append(profile.paired(profile.render, n))
        ratios["show --no-refresh"].append(profile.paired(profile.show, n))
        for name, command in peers.items():
            ratios[name].append(profile.paired(command, n))
        profiles.rewrite(profile.home, profile.config, 1000 + n)
        ratios["render after Claude Code rewrote its file"].append(
            profile.paired(profile.render, n)
        )
        profiles.rewrite(profile.home, profile.config, 1000 + n, amount=1250 + n % 2)
        ratios[FULL_RENDER].append(profile.paired(profile.render, n))
    found = {name: statistics.median(values) for name, values in ratios.items()}
    found["floor"] = statistics.median(profile.floors)
    return found


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    peers = {} if quick else install_peers(folder)
    measured: dict[str, dict[str, float]] = {}
    rss: tuple[int, int] | None = None
    for label, size in SIZES:
        profile = Profile(folder, size)
        measured[label] = measure(profile, 5 if quick else 31, peers)
        if size == SIZES[-1][1]:  # the costliest render: a full one, on the largest file
            profiles.rewrite(profile.home, profile.config, 5000, amount=1300)
            ours = peak_rss_kb(profile.render, profile.env, profile.stdin)
            floor = peak_rss_kb(FLOOR, profile.env, profile.stdin)
            rss = (ours, floor) if ours and floor else None
    hot = hot_get(folder, quick)
    report.add(
        TITLE,
        __doc__.split("\n\n", 1)[1].replace("\n", " "),
        table(measured, peers),
        notes(rss, hot, peers, quick),
    )
    for name, goal in GOALS.items():
        worst = max(measured[label][name] for label, _ in SIZES)
        met = "yes" if worst <= goal else "no"
        report.summary.append(
            (f"real profile: `{name}` (worst size)", f"<= {goal}x floor", f"{worst:.2f}x", met)
        )
    if rss is not None:
        ratio = rss[0] / rss[1]
        met = "yes" if ratio <= 1.5 else "no"
        report.summary.append(
            ("real profile: peak RSS of a render, 5.8 MB", "<= 1.5x floor", f"{ratio:.2f}x", met)
        )
    met = "yes" if hot.ratio <= 0.5 else "no"
    report.summary.append(
        ("real profile: hot `get()` vs `diskcache.get`", "<= 0.5x", f"{hot.ratio:.2f}x", met)
    )
    worst = max(measured[label][FULL_RENDER] for label, _ in SIZES)
    report.summary.append(
        (f"real profile: `{FULL_RENDER}` (worst size)", "shown, not a goal", f"{worst:.2f}x", "-")
    )


def table(measured: dict[str, dict[str, float]], peers: dict[str, list[str]]) -> list[list[str]]:
    """Ours and the peers in one table, each row saying what it runs."""
    rows = [
        [
            "command (set-up: a real profile, nothing in the environment)",
            *[label for label, _ in SIZES],
        ]
    ]
    for name in ["python -c pass", *GOALS, FULL_RENDER, *peers]:
        goal = GOALS.get(name)
        mark = f" (goal <= {goal}x)" if goal else " (about once an hour)" * (name == FULL_RENDER)
        who = "peer, from npm: " if name in peers else ""
        cells = [f"{measured[label][name]:.2f}x" for label, _ in SIZES]
        rows.append([f"{who}`{name}`{mark}", *cells])
    rows.append(["the floor itself", *[fmt_s(measured[label]["floor"]) for label, _ in SIZES]])
    return rows


def notes(
    rss: tuple[int, int] | None, hot: HotGet, peers: dict[str, list[str]], quick: bool
) -> str:
    said = NOTES
    if peers:
        versions = ", ".join(f"{name} {version}" for name, version in PEERS.items())
        said += f"\n\nThe peers are the status line tools Claude Code users run ({versions}),"
        said += " given the same stdin on the same profile."
    elif not quick:
        said += "\n\nPeers skipped: no `npm` on this machine (or the install failed)."
    if rss is not None:
        said += (
            f"\n\nPeak RSS of a full render on the 5.8 MB profile, right after Claude Code "
            f"fetched a new grant: {rss[0] / 1024:.1f} MiB, against {rss[1] / 1024:.1f} MiB for "
            f"the floor (**{rss[0] / rss[1]:.2f}x**, goal <= 1.5x)."
        )
    return said + "\n\n" + hot.text + "\n\n" + HOW


class HotGet:
    def __init__(self, ratio: float, text: str) -> None:
        self.ratio, self.text = ratio, text


def hot_get(folder: Path, quick: bool) -> HotGet:
    """`GRANT.get(settings)` in a long-lived process on the 1.1 MB profile: the org and the
    grant come from `~/.claude.json`, settings made once by `Settings.from_env()` with
    nothing but HOME; against `diskcache`'s `Cache.get` of one key."""
    import diskcache

    from overage_credit_grant.shell import GRANT, Settings

    home = folder / "home-1100000"
    settings = Settings.from_env({"HOME": str(home)})
    assert GRANT.get(settings) is not None, "the profile's grant must be found"
    cache = diskcache.Cache(tempfile.mkdtemp(dir=folder))
    cache.set("grant", {"amount_minor_units": 1250})
    cands: dict[str, Callable[[], object]] = {
        "ours": lambda: GRANT.get(settings),
        "diskcache": lambda: cache.get("grant"),
    }
    rounds, budget = (3, 0.05) if quick else (15, 0.2)
    samples: dict[str, list[float]] = {name: [] for name in cands}
    for _ in range(rounds):
        for name, fn in cands.items():
            samples[name].append(per_call(fn, budget))
    ratios = [a / b for a, b in zip(samples["ours"], samples["diskcache"], strict=True)]
    ratio = statistics.median(ratios)
    ours, theirs = statistics.median(samples["ours"]), statistics.median(samples["diskcache"])
    cache.close()
    text = (
        f"Hot `GRANT.get(settings)` in a long-lived process, the organization and the grant "
        f"read from the 1.1 MB `~/.claude.json` (settings from `Settings.from_env()` with "
        f"only HOME): {fmt_s(ours)} against {fmt_s(theirs)} for `diskcache.Cache.get`: "
        f"**{ratio:.2f}x** (goal <= 0.5x)."
    )
    return HotGet(ratio, text)


HOW = """\
How (each step measured with `python -X importtime` and cProfile on these profiles):

- A render that found a fresh value records its answer with everything it depends on
  (`shell/_cli/fastline.py`); the next render replays it after one small read and a few
  `stat` calls, loading nothing else of the package. After Claude Code rewrote its file,
  the replay still holds when the two values we read of it are byte for byte the same,
  which it checks by searching the file from its end, without parsing it.
- Claude Code's file is never parsed whole when it is in its own layout: the last
  top-level occurrence of each of our two keys is found by searching it from the end in
  256 KB chunks, and only those values are parsed (`shell/_store/toplevel.py`).
- The default config path is computed without importing `platformdirs` on Linux and macOS;
  the entry point, the package's `__init__` and the argument parser import no `typing`;
  each command loads only its own module.
- A long-lived `get()` reads Claude Code's file once for both the organization and its
  grant, and trusts a `stat` made less than `Settings.file_check_s` (0.25 s) ago."""

NOTES = """\
Set-up of every row above: the installed console script, a profile's HOME, `PATH`, no
other variable (no `OVERAGE_GRANT_*`, no `CLAUDE_CODE_*`), no `--config`, no `--org`.
"Nothing changed" is a render after a render. "After Claude Code rewrote its file" comes
right after `~/.claude.json` was written anew (temp file + rename, as Claude Code does
after every message) with a counter changed; "after Claude Code fetched a new grant",
right after it was written anew with a new amount, so the whole render runs. Each
command is timed next to a run of the floor, in turn before and after it, so that both
meet the same state of the machine (the writing back of the file just rewritten
included)."""
