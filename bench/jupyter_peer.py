"""Jupyter as the peer the benchmarks compare Codeloft with: its own virtual environment and a server on
a free port, shared by bench/tree_open.py (JupyterLab in a browser) and bench/save_latency.py (the
contents API).

The environment is /tmp/codeloft-bench-jupyter, created with `pip install 'jupyterlab>=4,<5'` on first
use (never a dependency of Codeloft). A server runs with no token, no XSRF check (the benchmarks are
its only clients), HOME in a temporary directory, and serves `root`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serving import clean_env, free_port

JUPYTER_VENV = Path("/tmp/codeloft-bench-jupyter")
JUPYTER_REQUIREMENT = "jupyterlab>=4,<5"
INSTALL_TIMEOUT = 420.0  # seconds for creating the JupyterLab environment
START_TIMEOUT = 90.0  # seconds for a server to answer


def jupyter_version() -> str | None:
    exe = JUPYTER_VENV / "bin" / "jupyter-lab"
    if not exe.exists():
        return None
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=False)
    version = done.stdout.strip()
    return version if done.returncode == 0 and version.startswith("4.") else None


def ensure_jupyter() -> tuple[str | None, str | None]:
    """JupyterLab 4 in its own virtual environment: (version, None), or (None, the error)."""
    version = jupyter_version()
    if version:
        return version, None
    python = shutil.which("python3") or sys.executable
    print(f"creating {JUPYTER_VENV} and installing {JUPYTER_REQUIREMENT} into it (once; not a Codeloft dependency)")
    steps = [
        [python, "-m", "venv", "--clear", str(JUPYTER_VENV)],
        [str(JUPYTER_VENV / "bin" / "pip"), "install", "--disable-pip-version-check", "-q", JUPYTER_REQUIREMENT],
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env, check=False)
        except subprocess.TimeoutExpired:
            return None, f"{' '.join(step)} did not finish within {INSTALL_TIMEOUT:.0f} s"
        if done.returncode != 0:
            return None, f"{' '.join(step)} exited with {done.returncode}:\n{done.stdout}{done.stderr}".rstrip()
    version = jupyter_version()
    return (version, None) if version else (None, "jupyter-lab --version does not report a 4.x version after install")


def jupyter_server_version() -> str:
    """The version of the jupyter_server package in the environment (what serves the contents API)."""
    done = subprocess.run(
        [str(JUPYTER_VENV / "bin" / "jupyter-server"), "--version"], capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip() or "?"


@dataclass
class Jupyter:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_jupyter(root: Path, home: Path, *, program: str = "jupyter-lab") -> Jupyter:
    """`program` (`jupyter-lab`, or `jupyter-server`: the same contents API without the Lab's pages)
    serving `root`, once `GET /api/contents` answers."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in clean_env().items()
        if not k.startswith(("JUPYTER", "XDG_", "IPYTHON")) and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["HOME"] = str(home)
    command = [
        str(JUPYTER_VENV / "bin" / program),
        "--no-browser",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.disable_check_xsrf=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # as in a container: no effect on what is served
    process = subprocess.Popen(
        command, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    output: list[str] = []

    def drain() -> None:  # keeps reading so the server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=drain, daemon=True).start()
    server = Jupyter(base_url=f"http://127.0.0.1:{port}", process=process, output=output)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{program} exited with {process.returncode}:\n{''.join(output)}")
        try:
            if httpx.get(f"{server.base_url}/api/contents", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{program} did not answer within {START_TIMEOUT:.0f} s:\n{''.join(output)}")
