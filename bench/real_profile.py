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
        command, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
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


def run(report: Report, folder: Path, quick: bool, redis_url: str | None) -> None:
    del redis_url  # this section needs no Redis
    script = str(Path(sys.executable).with_name("overage-grant"))
    floor = [sys.executable, "-c", "import json, returns.maybe, returns.result"]
    rounds = 5 if quick else 31
    peers = {} if quick else install_peers(folder)
    rows = [["what", *[label for label, _ in SIZES]]]
    measured: dict[str, dict[str, float]] = {}
    peer_rows: list[list[str]] = []
    rss: dict[str, int | None] = {}
    for label, size in SIZES:
        home = folder / f"home-{size}"
        config = profiles.build(home, size)
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}
        stdin = statusline_input(home)
        render = [script, "statusline"]
        show = [script, "show", "--no-refresh"]
        wall(render, env, stdin)  # the render before: nothing changes after it
        ratios: dict[str, list[float]] = {name: [] for name in GOALS}
        ratios["python -c pass"] = []
        times: dict[str, list[float]] = {"floor": []}
        peer_ratios: dict[str, list[float]] = {name: [] for name in peers}
        for n in range(rounds):
            base = wall(floor, env, stdin)
            times["floor"].append(base)
            ratios["python -c pass"].append(wall([sys.executable, "-c", "pass"], env, stdin) / base)
            ratios["render, nothing changed"].append(wall(render, env, stdin) / base)
            profiles.rewrite(home, config, 1000 + n)
            ratios["render after Claude Code rewrote its file"].append(
                wall(render, env, stdin) / base
            )
            ratios["show --no-refresh"].append(wall(show, env, stdin) / base)
            for name, command in peers.items():
                peer_ratios[name].append(wall(command, env, stdin) / base)
        measured[label] = {name: statistics.median(values) for name, values in ratios.items()}
        measured[label]["floor"] = statistics.median(times["floor"])
        for name, values in peer_ratios.items():
            measured[label][name] = statistics.median(values)
        if size == SIZES[-1][1]:
            profiles.rewrite(home, config, 5000)
            rss["render"] = peak_rss_kb(render, env, stdin)
            rss["floor"] = peak_rss_kb(floor, env, stdin)
    for name in ["python -c pass", *GOALS, *peers]:
        cells = [f"{measured[label][name]:.2f}x" for label, _ in SIZES]
        goal = GOALS.get(name)
        mark = f" (goal <= {goal}x)" if goal else ""
        (rows if name not in peers else peer_rows).append([f"`{name}`{mark}", *cells])
    rows.append(["the floor itself", *[fmt_s(measured[label]["floor"]) for label, _ in SIZES]])
    hot = hot_get(folder, quick)
    met = {
        name: all(measured[label][name] <= goal for label, _ in SIZES)
        for name, goal in GOALS.items()
    }
    notes = NOTES
    if rss.get("render") and rss.get("floor"):
        ratio = rss["render"] / rss["floor"]  # type: ignore[operator]
        notes += (
            f"\n\nPeak RSS of a render on the 5.8 MB profile, right after a rewrite: "
            f"{rss['render'] / 1024:.1f} MiB, against {rss['floor'] / 1024:.1f} MiB for the floor "  # type: ignore[operator]
            f"(**{ratio:.2f}x**, goal <= 1.5x)."
        )
        report.summary.append(
            (
                "real profile: peak RSS of a render, 5.8 MB",
                "<= 1.5x floor",
                f"{ratio:.2f}x",
                "yes" if ratio <= 1.5 else "no",
            )
        )
    if peer_rows:
        notes += "\n\nThe status line tools Claude Code users run, same stdin, same profile:\n\n"
        notes += (
            "| tool (npm) | " + " | ".join(label for label, _ in SIZES) + " |\n|---|---|---|---|\n"
        )
        notes += "\n".join("| " + " | ".join(row) + " |" for row in peer_rows)
        notes += f"\n\n(versions: {', '.join(f'{k} {v}' for k, v in PEERS.items())})"
    elif not quick:
        notes += "\n\nPeers skipped: no `npm` on this machine (or the install failed)."
    notes += "\n\n" + hot.text
    report.add(TITLE, __doc__.split("\n\n", 1)[1].replace("\n", " "), rows, notes)
    for name, goal in GOALS.items():
        worst = max(measured[label][name] for label, _ in SIZES)
        report.summary.append(
            (
                f"real profile: `{name}` (worst size)",
                f"<= {goal}x floor",
                f"{worst:.2f}x",
                "yes" if met[name] else "no",
            )
        )
    report.summary.append(
        (
            "real profile: hot `get()` vs `diskcache.get`",
            "<= 0.5x",
            f"{hot.ratio:.2f}x",
            "yes" if hot.ratio <= 0.5 else "no",
        )
    )


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


NOTES = """\
Set-up of every row above: the installed console script, a profile's HOME, `PATH`, no
other variable (no `OVERAGE_GRANT_*`, no `CLAUDE_CODE_*`), no `--config`, no `--org`.
"Nothing changed" is a render after a render; "after Claude Code rewrote its file" comes
right after `~/.claude.json` was written anew (temp file + rename, as Claude Code does),
so nothing remembered from the last render can be trusted."""
