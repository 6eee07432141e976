"""Every notebook (the Kannel one aside) runs to the end against SMSCs that are not the
simulator: the stdlib SMSC and the smpp34 server in tests/peers, selected the way a user
selects a real SMSC (SMPPKIT_SMSC, SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD, SMPPKIT_TO).

Outputs differ from the simulator's, so this executes (nbclient) rather than compares
(nbval); a cell error fails the test. Cells marked ``# NBVAL_RAISES_EXCEPTION`` may raise.
Each notebook runs against both SMSCs at once, in two kernels; the SMSCs are started once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "peers"))
from run import peer  # noqa: E402

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NEEDS_KANNEL = {"20_rehearse_kannel_setup.ipynb"}
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in NEEDS_KANNEL)


def _allow_expected_errors(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_RAISES_EXCEPTION" in cell.source:
            cell.metadata.setdefault("tags", []).append("raises-exception")


@pytest.fixture(scope="module")
def smscs():
    """Both third-party SMSCs, started once for the module: {name: the SMPPKIT_* environment}."""
    with peer("mini") as (_, mini), peer("smpp34") as (_, smpp34):
        yield {"mini": mini, "smpp34": smpp34}


async def _run(name: str, peer_name: str, env: dict[str, str]) -> str | None:
    """Execute notebook `name` in a fresh kernel against one SMSC; what went wrong, or None."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _allow_expected_errors(nb)
    runner = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        await runner.async_execute(env={**os.environ, **env, "MPLBACKEND": "Agg"})
    except nbclient.exceptions.CellExecutionError as exc:
        return f"{name} against the {peer_name} SMSC: {str(exc)[-1500:]}"
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    if "lab.start" in "".join(c.source for c in nb.cells) and f"a real SMSC at {env['SMPPKIT_SMSC']}" not in printed:
        return f"{name} against the {peer_name} SMSC: lab.start did not say it uses the real SMSC"
    return None


@pytest.mark.parametrize("name", ALL)
def test_notebook_runs_against_third_party_smscs(smscs, name):
    """The notebook against each SMSC at the same time: a kernel and an SMSC each, so the two
    runs share nothing, and the pair takes as long as the slower one. Most of a run is waiting
    (for receipts a peer never sends, for paced sends), not computing."""

    async def both() -> list[str | None]:
        return await asyncio.gather(*(_run(name, peer_name, env) for peer_name, env in smscs.items()))

    problems = [p for p in asyncio.run(both()) if p]
    assert not problems, "\n\n".join(problems)
