"""The preview proxy on large answers and large requests, through a real `codeloft serve` and a real
sandboxed Node.js server: time to the first byte and to the last of a 50 MB answer, the server
process's peak memory growth (VmHWM after `clear_refs`, against VmRSS before) while passing it on, and
how soon a 200 MB request body sent without a length is refused (and how much of it was sent by then).

    .venv/bin/python bench/preview_proxy.py [--megabytes 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.test_preview_proxy import MB, STREAMING_JS, memory_kb, user, workspace_with
from tests.serving import start_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    server = start_server(Path(tempfile.mkdtemp(prefix="codeloft-bench-")))
    try:
        client, headers = user(server, "bench@example.com")
        workspace = workspace_with(client, headers, {"server.js": STREAMING_JS})
        address = client.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers).json()["address"]
        url = f"{server.base_url}{address}"
        for _ in range(50):  # until the server listens
            if httpx.post(f"{url}count", content=b"ping", timeout=20).status_code == 200:
                break
            time.sleep(0.2)
        pid = server.process.pid
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        before = memory_kb(pid, "VmRSS")
        start = time.perf_counter()
        first = None
        received = 0
        identity = {"Accept-Encoding": "identity"}
        with httpx.stream("GET", f"{url}big/{args.megabytes}", headers=identity, timeout=60) as answer:
            for chunk in answer.iter_raw():
                first = first or time.perf_counter()
                received += len(chunk)
        end = time.perf_counter()
        grown = memory_kb(pid, "VmHWM") - before
        print(f"{received // MB} MB answer: first byte {1000 * ((first or end) - start):.0f} ms, "
              f"last byte {1000 * (end - start):.0f} ms, server peak memory +{grown / 1024:.1f} MB")  # fmt: skip

        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            while sent < 200 * MB:
                sent += MB
                yield b"x" * MB

        start = time.perf_counter()
        refused = httpx.post(f"{url}count", content=body(), timeout=60)
        print(f"200 MB request body without a length: {refused.status_code} after "
              f"{1000 * (time.perf_counter() - start):.0f} ms, {sent // MB} MB sent by then")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
