"""Start the real `codeloft` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

LINK = re.compile(r"(https?://\S+/login/token/\S+)")
FORM_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]*)"')
CODELOFT = shutil.which("codeloft", path=str(Path(sys.executable).parent)) or "codeloft"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without pytest's markers (NiceGUI changes behaviour under pytest) and without
    any CODELOFT_* setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CODELOFT_", "NICEGUI_"))}
    env.update(overrides)
    return env


def codeloft(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CODELOFT, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no sign-in link in {text!r}"
    return match.group(1)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in(client: httpx.Client, link: str) -> httpx.Response:
    """Open a sign-in link as a browser does: its GET shows the confirmation form, whose POST (from
    the server's own origin) signs in. The POST's answer (303 to `/` with the session cookie)."""
    page = client.get(link, follow_redirects=False)
    assert page.status_code == 200, f"no confirmation page at {link}: {page.status_code} {page.headers}"
    match = FORM_TOKEN.search(page.text)
    assert match, f"no sign-in form in {page.text!r}"
    return client.post(
        urljoin(link, "/login/token"),
        data={"token": match.group(1)},
        headers={"Origin": origin_of(link)},
        follow_redirects=False,
    )


@dataclass
class Server:
    base_url: str
    link: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return codeloft(*args, env=self.env)


def start_server(data_dir: Path, *, timeout: float = 60, **settings: str) -> Server:
    port = free_port()
    env = clean_env(CODELOFT_DATA_DIR=str(data_dir), CODELOFT_PORT=str(port), **settings)
    process = subprocess.Popen(
        [CODELOFT, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:  # keeps reading so the server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    link = None
    while link is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            raise AssertionError("no sign-in link within the time limit:\n" + "".join(output)) from None
        if line is None:
            process.wait()
            raise AssertionError("codeloft serve exited:\n" + "".join(output))
        match = LINK.search(line)
        link = match.group(1) if match else None
    base_url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code in (200, 503):
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return Server(base_url=base_url, link=link, env=env, process=process, output=output)


def signed_in_client(server: Server, link: str | None = None) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    response = sign_in(client, link or server.link)
    assert response.status_code == 303 and response.headers["location"] == "/"
    return client


def new_link(server: Server, email: str) -> str:
    result = server.cli("user", "add", email)
    assert result.returncode == 0, result.stderr
    return link_in(result.stdout)


def csrf(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRF-Token": client.get("/api/v1/session").json()["csrf_token"]}
