"""Score the receipt doctor on a corpus of recorded setups (``data/corpus/``).

Each case is a directory with what a user has on the client side -- ``capture.pcap``,
``bearerbox.log`` + ``access.log``, ``client.log`` (python-smpplib) or ``app.log`` -- and a
``case.json`` whose ``cause`` is the finding code of the true cause (null for a healthy
control). `evaluate` runs `smppkit.diagnose.doctor.diagnose` on all of a case's artifacts
together and on each kind alone; `tables` prints the scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from smppkit.diagnose.doctor import Report, UnreadableInput, diagnose

__all__ = ["ARTIFACT_KINDS", "cases", "evaluate", "score", "tables"]

#: artifact kind -> the file names that make it up
ARTIFACT_KINDS: dict[str, tuple[str, ...]] = {
    "pcap": ("capture.pcap",),
    "kannel logs": ("bearerbox.log", "access.log"),
    "client log": ("client.log", "app.log"),
}


def cases(root: str | os.PathLike[str]) -> list[dict]:
    """Every case under `root`: its case.json plus ``dir``, sorted by name."""
    out = []
    for meta in sorted(Path(root).glob("*/case.json")):
        case = json.loads(meta.read_text(encoding="utf-8"))
        case["dir"] = meta.parent
        out.append(case)
    return out


def score(case: dict, files: list[Path], run: Callable[..., Report] = diagnose) -> dict:
    """The doctor on `files` of one case: its top root cause and whether it names the cause.

    A broken case is named when the first finding's code is the cause and it is above info;
    a healthy one when no finding is above info. `run` is the doctor, called as
    ``run(paths, tz="UTC")``.
    """
    try:
        report = run([str(f) for f in files], tz="UTC")
    except UnreadableInput as exc:
        return {"top": "(unreadable)", "named": False, "false alarm": False, "problems": str(exc)}
    top = report.top
    problems = [f.code for f in report.problems()]
    if case["cause"] is None:
        return {"top": top.code if top and top.severity != "info" else "", "named": not problems,
                "false alarm": bool(problems), "problems": ", ".join(problems)}
    named = bool(top and top.code == case["cause"] and top.severity != "info")
    return {"top": top.code if top else "", "named": named,
            "false alarm": False, "problems": ", ".join(problems)}


def evaluate(root: str | os.PathLike[str], run: Callable[..., Report] = diagnose) -> pd.DataFrame:
    """One row per case and artifact set ("all", then each kind the case has); `run` as
    for `score`."""
    rows = []
    for case in cases(root):
        d: Path = case["dir"]
        present = {kind: [d / n for n in names if (d / n).exists()] for kind, names in ARTIFACT_KINDS.items()}
        present = {k: v for k, v in present.items() if v}
        sets = {"all": [f for v in present.values() for f in v], **present}
        for artifacts, files in sets.items():
            rows.append({"case": case["name"], "cause": case["cause"] or "(healthy)",
                         "smsc": case["smsc"], "artifacts": artifacts,
                         **score(case, files, run)})
    return pd.DataFrame(rows)


def tables(results: pd.DataFrame) -> str:
    """The scores as text: all artifacts together, then each artifact kind alone."""
    together = results[results["artifacts"] == "all"]
    broken = together[together["cause"] != "(healthy)"]
    healthy = together[together["cause"] == "(healthy)"]
    lines = [
        f"{len(broken)} broken cases: {int(broken['named'].sum())} named by the top finding "
        f"({broken['named'].mean():.0%}); {len(healthy)} healthy controls: "
        f"{int(healthy['false alarm'].sum())} false alarms",
        "",
    ]
    missed = broken[~broken["named"]]
    for _, r in missed.iterrows():
        lines.append(f"  missed {r['case']}: cause {r['cause']}, top {r['top'] or '(none)'}")
    lines += ["", "What each artifact gives alone (broken cases named / cases with it; false alarms):",
              f"{'artifacts':<14} {'named':>12} {'false alarms':>13}"]
    for kind in ["all", *ARTIFACT_KINDS]:
        part = results[results["artifacts"] == kind]
        b = part[part["cause"] != "(healthy)"]
        h = part[part["cause"] == "(healthy)"]
        lines.append(f"{kind:<14} {int(b['named'].sum()):>5} / {len(b):<5} {int(h['false alarm'].sum()):>6} / {len(h)}")
    return "\n".join(lines)
