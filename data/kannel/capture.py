"""Re-capture the real Kannel 1.4.5 logs in this directory (run: python data/kannel/capture.py).

Each scenario runs bearerbox + smsbox against a fresh simulator (seed 7) with
`smppkit.kannel.KannelLab`, then copies the logs here with every password masked.
Timestamps, ports and PIDs differ from run to run; the tests only rely on their shape.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import smppkit
from smppkit.kannel.runner import KannelLab

HERE = Path(__file__).resolve().parent
MASK = "********"


def sanitize(text: str, lab: KannelLab) -> str:
    for secret in (lab._password, lab.admin_password, lab.sendsms_password):
        text = text.replace(secret, MASK)
    text = text.replace(str(lab.workdir), "/var/log/kannel")
    return re.sub(r'(password: )"[^"]*"', rf'\1"{MASK}"', text)


def scenario(name: str, sends: list[tuple[str, str, int]], *, wait: float = 2.0,
             sim_options: dict | None = None, files: dict[str, str], **lab_options: object) -> None:
    with tempfile.TemporaryDirectory() as tmp, smppkit.simulator.start(
        seed=7, dlr_delay=0.1, **(sim_options or {})
    ) as sim:
        lab = KannelLab(sim, workdir=tmp, keep=True, **lab_options)
        with lab:
            for to, text, mask in sends:
                lab.send(to, text, dlr_mask=mask)
            time.sleep(wait)
        for target, source in files.items():
            text = sanitize((Path(tmp) / source).read_text(errors="replace"), lab)
            (HERE / target).write_text(text, encoding="utf-8")
            print(f"{name}: {target} {len(text)} bytes", file=sys.stderr)


def main() -> None:
    long_text = "Kannel splits this long text into parts with a UDH. " * 5
    scenario(
        "receipts",
        [("447700900000", "Hello World", 19), ("447700900000", long_text, 19),
         ("447700900001", "undeliverable", 19), ("447700900002", "expires", 31)],
        files={"kannel.conf": "kannel.conf", "bearerbox-receipts.log": "bearerbox.log",
               "access.log": "access.log"},
    )
    scenario(
        "mask17",
        [("447700900000", "Hello World", 17), ("447700900001", "undeliverable", 17)],
        files={"bearerbox-mask17.log": "bearerbox.log", "access-mask17.log": "access.log"},
    )
    scenario(
        "dlr-not-found",
        [("447700900000", "Hello World", 19), ("447700900001", "undeliverable", 19)],
        msg_id_type=None,
        files={"bearerbox-dlr-not-found.log": "bearerbox.log", "access-dlr-not-found.log": "access.log",
               "kannel-msg-id-type-unset.conf": "kannel.conf"},
    )
    scenario(
        "throttled",
        [("447700900000", f"burst {i}", 19) for i in range(8)],
        wait=4.0, sim_options={"throughput": 3}, throughput=50, sms_resend_freq=1,
        files={"bearerbox-throttled.log": "bearerbox.log", "access-throttled.log": "access.log"},
    )


if __name__ == "__main__":
    main()
