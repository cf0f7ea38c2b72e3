"""PostgreSQL restarting under a running server: requests answer 503 with a message while it is down,
/readyz says why, nothing crashes, and everything works again once it is back, without restarting
Codeloft. A PostgreSQL cluster of the test's own (initdb), so that stopping it harms nobody else."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import csrf, free_port, signed_in_client, start_server

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = [
    pytest.mark.skipif(not BINARIES, reason="PostgreSQL's server programs are not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="runs PostgreSQL as the postgres user (needs root)"),
]


class OwnPostgres:
    def __init__(self) -> None:
        self.bin = Path(BINARIES[-1])
        self.folder = Path(tempfile.mkdtemp(prefix="codeloft-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        shutil.chown(self.folder, "postgres")
        self._as_postgres(self.bin / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str | Path) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, argv)], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-w", "-l", self.folder / "log", "start")

    def stop(self) -> None:
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    server.start()
    yield server
    server.remove()


def test_requests_answer_503_while_postgresql_is_down_and_work_again_after(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    running = start_server(tmp_path, CODELOFT_DATABASE_URL=postgres.url)
    try:
        client = signed_in_client(running)
        created = client.post(
            "/api/v1/workspaces", json={"name": "Kept", "language": "python"}, headers=csrf(client)
        ).json()
        file_url = f"/api/v1/workspaces/{created['id']}/files/kept.py"
        assert client.put(file_url, content=b"kept = 1\n", headers=csrf(client)).status_code == 201

        postgres.stop()
        save = client.put(file_url, content=b"kept = 2\n", headers=csrf(client))
        assert save.status_code == 503 and "PostgreSQL" in save.json()["detail"], save.text
        down = client.get(f"/api/v1/workspaces/{created['id']}")
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "Unavailable" and "PostgreSQL" in down.json()["detail"]
        assert httpx.get(f"{running.base_url}/readyz").status_code == 503
        page = client.get("/")
        assert page.status_code == 503 and "PostgreSQL" in page.text
        assert running.process.poll() is None  # still serving

        postgres.start()
        deadline = time.monotonic() + 20
        while (back := client.get(f"/api/v1/workspaces/{created['id']}")).status_code != 200:
            assert time.monotonic() < deadline, back.text
            time.sleep(0.2)
        assert back.json()["name"] == "Kept"  # the session and the workspace survived
        assert client.get(file_url).content == b"kept = 1\n"
        for text in (b"kept = 3\n", b"kept = 4\n"):  # saves work again, one right after the other
            assert client.put(file_url, content=text, headers=csrf(client)).status_code == 200
        assert client.get(file_url).content == b"kept = 4\n"
        assert httpx.get(f"{running.base_url}/readyz").status_code == 200
    finally:
        running.stop()
