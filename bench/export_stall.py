"""How long `/healthz` waits while ZIP exports run: archive work must not stall the event loop.

    .venv/bin/python bench/export_stall.py [--files 4] [--mb 24] [--exports 1 4]

Starts the real `codeloft serve` (SQLite in a temporary data directory), signs in, fills a workspace
with `--files` files of `--mb` MB of random bytes (incompressible, so DEFLATE works hardest), then for
each number in `--exports` starts that many `GET .../archive` at once while another client asks for
`GET /healthz` every 20 ms. Prints the exports' time and the slowest and median `/healthz` answer.
Before ZIP work left the event loop (issue 9.4): one export of 4 x 24 MB stalled `/healthz` 2.5 s,
four at once 11 s."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.test_files_api import sign_in
from tests.serving import start_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mb", type=int, default=24)
    parser.add_argument("--exports", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(Path(data_dir))
        try:
            user = sign_in(server, "bench.export@example.com")
            ws = user.create("Export stall")
            for n in range(args.files):
                response = user.put(ws, f"data{n}.bin", os.urandom(args.mb * 1024 * 1024))
                assert response.status_code == 201, response.text
            print(f"workspace: {args.files} files x {args.mb} MB (random bytes)")
            for exports in args.exports:
                measure(server.base_url, user.client, ws, exports)
        finally:
            server.stop()


def measure(base_url: str, client: httpx.Client, ws: str, exports: int) -> None:
    done = threading.Event()
    export_times: list[float] = []

    def export() -> None:
        started = time.monotonic()
        with httpx.Client(base_url=base_url, cookies=client.cookies, timeout=300) as own:
            response = own.get(f"/api/v1/workspaces/{ws}/archive")
        assert response.status_code == 200, response.text
        export_times.append(time.monotonic() - started)

    threads = [threading.Thread(target=export) for _ in range(exports)]
    health: list[float] = []
    with httpx.Client(base_url=base_url, timeout=60) as probe:
        probe.get("/healthz")
        for thread in threads:
            thread.start()
        waiter = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
        waiter.start()
        while not done.is_set():
            started = time.monotonic()
            probe.get("/healthz")
            health.append(time.monotonic() - started)
            time.sleep(0.02)
        waiter.join()
    print(
        f"{exports} export(s) at once: exports took {max(export_times):.2f} s; /healthz during them: "
        f"slowest {max(health) * 1000:.0f} ms, median {statistics.median(health) * 1000:.0f} ms "
        f"({len(health)} probes)"
    )


if __name__ == "__main__":
    main()
