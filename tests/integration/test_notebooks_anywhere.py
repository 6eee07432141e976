"""Every notebook (the Kannel one aside) runs to the end against SMSCs that are not the
simulator: the stdlib SMSC and the smpp34 server in tests/peers, selected the way a user
selects a real SMSC (SMPPKIT_SMSC, SMPPKIT_SYSTEM_ID, SMPPKIT_PASSWORD, SMPPKIT_TO).

Outputs differ from the simulator's, so this executes (nbclient) rather than compares
(nbval); a cell error fails the test. Cells marked ``# NBVAL_RAISES_EXCEPTION`` may raise.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module", params=["mini", "smpp34"])
def smsc(request):
    with peer(request.param) as (_, env):
        yield request.param, env


@pytest.mark.parametrize("name", ALL)
def test_notebook_runs_against_a_third_party_smsc(smsc, name, tmp_path):
    peer_name, env = smsc
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _allow_expected_errors(nb)
    runner = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    kernel_env = {**os.environ, **env, "MPLBACKEND": "Agg"}
    try:
        runner.execute(env=kernel_env)
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{name} against the {peer_name} SMSC: {str(exc)[-1500:]}")
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    if "lab.start" in "".join(c.source for c in nb.cells):
        assert f"a real SMSC at {env['SMPPKIT_SMSC']}" in printed
