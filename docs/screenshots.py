"""Regenerate the README's screenshots (docs/img/) with headless Chromium:
the simulator's live view under load, and the top of an `smppkit analyze` report.

    PYTHONPATH=. python docs/screenshots.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import smpplib.client
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from smppkit import datasets, report, simulator
from smppkit.simulator import live

OUT = Path(__file__).parent / "img"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")


def _browser(profile: str, width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _send(address: str, stop: threading.Event, rate: float) -> None:
    host, port = address.rsplit(":", 1)
    client = smpplib.client.Client(host, int(port), timeout=5, allow_unknown_opt_params=True)
    client.set_message_received_handler(lambda pdu: None)
    client.set_message_sent_handler(lambda pdu: None)
    client.connect()
    client.bind_transceiver(system_id="smppkit", password="secret")
    n = 0
    while not stop.is_set():
        client.send_message(source_addr="smppkit", destination_addr=f"44770090000{n % 10}",
                            short_message=b"hello", registered_delivery=1)
        n += 1
        client.read_once()  # one PDU per submit: its resp, or a receipt (answered by smpplib)
        time.sleep(1 / rate)
    client.unbind()
    client.disconnect()


def _save(driver: webdriver.Chrome, path: Path, scale: float) -> None:
    raw = path.with_suffix(".raw.png")
    driver.save_screenshot(str(raw))
    image = Image.open(raw).convert("RGB")
    image = image.resize((int(image.width * scale), int(image.height * scale)), Image.LANCZOS)
    image.quantize(colors=128).save(path, optimize=True)
    raw.unlink()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with simulator.start(seed=7, dlr_delay=0.3, throughput=30) as sim, live.serve(sim) as view:
            stop = threading.Event()
            senders = [threading.Thread(target=_send, args=(sim.address(i), stop, 25.0))
                       for i in ("SMPP1", "SMPP2")]
            for s in senders:
                s.start()
            driver = _browser(f"{tmp}/live", 900, 760)
            try:
                driver.get(view.url)
                time.sleep(4)
                _save(driver, OUT / "live-view.png", 0.75)
            finally:
                driver.quit()
                stop.set()
                for s in senders:
                    s.join(10)
        log = os.path.relpath(datasets.path("throttled"))  # the page shows the path as given
        result = report.analyze(log, f"{tmp}/report")
        driver = _browser(f"{tmp}/report", 1000, 1300)
        try:
            driver.get(result.html.as_uri())
            _save(driver, OUT / "report.png", 0.7)
        finally:
            driver.quit()
    for p in sorted(OUT.glob("*.png")):
        print(p, p.stat().st_size)


if __name__ == "__main__":
    main()
