"""`scripts/cluster` for the tests: on free ports, with a PostgreSQL database and a Redis db of its own,
stopped (and its database dropped) afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.serving import clean_env, free_port, link_in

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cluster"
INSTANCE = "X-Codeloft-Instance"
"""The header that names the instance that answered."""


@dataclass
class Cluster:
    url: str
    link: str
    env: dict[str, str]
    data: Path

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def pid(self, name: str) -> int:
        """The PID of one of its processes: haproxy, web1, web2, worker1, worker2."""
        return int((self.data / "run" / f"{name}.pid").read_text().split()[0])

    def owner_link(self) -> str:
        """A new sign-in link for the local owner (`codeloft user link`)."""
        env = self.env | {"CODELOFT_DATA_DIR": str(self.data / "cli"), "CODELOFT_PUBLIC_URL": self.url}
        codeloft = Path(sys.executable).parent / "codeloft"
        result = subprocess.run(
            [str(codeloft), "user", "link", "owner@localhost"], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        return link_in(result.stdout)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports() -> int:
    """A free port whose two next ones are free too (the instances')."""
    for _ in range(50):
        port = free_port()
        if port < 65000 and _free(port + 1) and _free(port + 2):
            return port
    raise AssertionError("no three free ports in a row")


@contextmanager
def running_cluster(data: Path, *, database: str, redis_url: str) -> Iterator[Cluster]:
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}")
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    port = free_ports()
    env = clean_env(
        CODELOFT_VENV=str(Path(sys.executable).parent.parent),
        CODELOFT_DATA_DIR=str(data),
        CODELOFT_CLUSTER_PORT=str(port),
        CODELOFT_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{database}",
        CODELOFT_REDIS_URL=redis_url,
        CODELOFT_SHUTDOWN_GRACE="5",
    )
    cluster = Cluster(url=f"http://127.0.0.1:{port}", link="", env=env, data=data)
    try:
        started = cluster.script()
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"Codeloft cluster at {cluster.url}" in started.stdout
        cluster.link = link_in(started.stdout)
        yield cluster
    finally:
        cluster.script("stop")
        store.flushdb()
        store.close()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
