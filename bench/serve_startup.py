"""How long `codeloft serve` takes until /healthz answers, against a bare NiceGUI app.

    .venv/bin/python bench/serve_startup.py [--runs 5]

Prints median and p95 for: a first start on an empty data directory (creates the SQLite file and
applies every migration), a restart on an existing one, and the baseline: a one-page NiceGUI app
started the same way, measured in the same run."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serving import CODELOFT, clean_env, free_port

BARE_APP = textwrap.dedent(
    """
    import sys
    from nicegui import ui

    @ui.page("/healthz")
    def health():
        ui.label("ok")

    ui.run(port=int(sys.argv[1]), reload=False, show=False, show_welcome_message=False)
    """
)


def time_until_healthy(command: list[str], env: dict[str, str], port: int) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=10)


def summary(label: str, seconds: list[float], baseline: float | None = None) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    ratio = f"  {median / baseline:4.2f}x baseline" if baseline else ""
    return f"{label:<38} median {median * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms{ratio}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    bare, first, warm = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        app = Path(scratch) / "bare.py"
        app.write_text(BARE_APP)
        for n in range(runs):
            port = free_port()
            bare.append(time_until_healthy([sys.executable, str(app), str(port)], clean_env(), port))
            data_dir = Path(scratch) / f"data{n}"
            for bucket in (first, warm):
                port = free_port()
                env = clean_env(CODELOFT_DATA_DIR=str(data_dir), CODELOFT_PORT=str(port))
                bucket.append(time_until_healthy([CODELOFT, "serve"], env, port))
    baseline = statistics.median(bare)
    print(f"codeloft serve start-up, {runs} runs each, until GET /healthz answers 200")
    print(summary("bare NiceGUI app (baseline)", bare))
    print(summary("codeloft serve, empty data dir", first, baseline))
    print(summary("codeloft serve, existing data dir", warm, baseline))


if __name__ == "__main__":
    main()
