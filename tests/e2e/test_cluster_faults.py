"""An instance dies (SIGKILL) while a person edits: their browser reconnects through HAProxy to the other instance, the
page says so, what they had typed and not saved is back in the editor (and saves), and what cannot be put back (a
file someone else changed meanwhile) is offered for download; their terminal is back on a new shell; another person
on the other instance keeps working throughout; the survivor's metrics parse; and nothing of the cluster is left
running once it is stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import Cluster, running_cluster
from tests.conftest import REDIS_TEST_URL
from tests.e2e.ide import Api
from tests.e2e.test_cluster_storage import signed_in
from tests.e2e.test_drafts import type_unsaved
from tests.e2e.test_editor_trust import open_tab
from tests.e2e.test_terminal import open_terminal, type_into_terminal
from tests.integration.test_cluster import alive, descendants
from tests.serving import Server, link_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

RECONNECT_MS = 45_000  # socket.io's back-off, HAProxy's health checks (2 x 1 s) and a page load on 2 cores
SCREENSHOTS = os.environ.get("CODELOFT_TEST_SCREENSHOTS")
"""A folder to put screenshots of the restored page in (to look at them), if set."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of its own: the test ends one of its instances."""
    redis_url = REDIS_TEST_URL.rsplit("/", 1)[0] + "/10"
    with running_cluster(tmp_path / "cluster", database="codeloft_cluster_faults", redis_url=redis_url) as running:
        yield running


def user_link(cluster: Cluster, *args: str) -> str:
    """`codeloft user ARGS...` against the cluster's database: the sign-in link it prints."""
    env = cluster.env | {"CODELOFT_DATA_DIR": str(cluster.data / "cli"), "CODELOFT_PUBLIC_URL": cluster.url}
    codeloft = Path(sys.executable).parent / "codeloft"
    result = subprocess.run([str(codeloft), "user", *args], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return link_in(result.stdout)


def api_of(page: Page, cluster: Cluster) -> Api:
    """The REST API with the browser's session, through HAProxy (to the instance its cookie names)."""
    return Api(page, cast(Server, SimpleNamespace(base_url=cluster.url)))


def text_of(api: Api, workspace: str, path: str) -> str | None:
    """A file's text; once more if HAProxy closed a kept-alive connection of the instance that died."""
    try:
        return api.text(workspace, path)
    except httpx.TransportError:
        return api.text(workspace, path)


def shoot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def test_unsaved_text_survives_the_instance_dying_and_the_other_person_keeps_working(
    browser: Browser, cluster: Cluster
) -> None:
    alice_context, alice, home = signed_in(browser, cluster, cluster.link)
    bob_link = user_link(cluster, "add", "bob@example.com")
    for _ in range(6):  # round robin: a new browser goes to the other instance
        bob_context, bob, elsewhere = signed_in(browser, cluster, bob_link)
        if elsewhere != home:
            break
        bob_context.close()
        bob_link = user_link(cluster, "link", "bob@example.com")
    assert {home, elsewhere} == {"web1", "web2"}

    api = api_of(alice, cluster)
    workspace = api.workspace("Faults", template="blank", autosave_delay_ms=0)  # only Ctrl+S saves
    api.put(workspace, "main.py", "print('saved')\n")
    api.put(workspace, "notes.py", "notes = 1\n")
    shared = api.client.post(
        f"/api/v1/workspaces/{workspace}/shares", json={"email": "bob@example.com", "permission": "write"}
    )
    assert shared.status_code == 201, shared.text
    bob_api = api_of(bob, cluster)

    # Alice types in two files without saving; Bob (on the other instance) changes one of them meanwhile.
    alice.goto(f"{cluster.url}/w/{workspace}")
    open_tab(alice, "notes.py")
    type_unsaved(alice, "# alice's notes")
    open_tab(alice, "main.py")
    type_unsaved(alice, "# typed before the crash")
    open_terminal(alice)  # and a shell, which dies with her instance
    type_into_terminal(alice, "LOST=yes\n")
    open_tab(alice, "main.py")
    time.sleep(2.5)  # the workbench is remembered every 2 s
    bob.goto(f"{cluster.url}/w/{workspace}")
    open_tab(bob, "notes.py")
    type_unsaved(bob, "# bob was here")
    bob.keyboard.press("Control+s")
    expect(bob.get_by_test_id("tab-modified")).to_have_count(0)
    assert text_of(bob_api, workspace, "notes.py") == "notes = 1\n# bob was here"

    os.kill(cluster.pid(home), signal.SIGKILL)

    # Bob keeps working while Alice's page finds its way to his instance.
    bob.keyboard.type("\n# and still here")
    bob.keyboard.press("Control+s")
    expect(bob.get_by_test_id("status-state")).to_have_text("Saved")

    reconnected = alice.get_by_test_id("reconnected")
    expect(reconnected).to_contain_text(
        "Reconnected to another server: your unsaved changes were restored", timeout=RECONNECT_MS
    )
    assert [c["value"] for c in alice_context.cookies() if c["name"] == "CODELOFT_INSTANCE"] == [elsewhere]
    expect(alice.get_by_test_id("draft-restored")).to_contain_text(
        "Restored unsaved changes to main.py from before the connection was lost"
    )
    # notes.py changed meanwhile: Alice's text is offered, not applied.
    dialog = alice.get_by_test_id("draft-dialog")
    expect(dialog).to_contain_text("notes.py was changed elsewhere")
    expect(alice.get_by_test_id("draft-text")).to_have_value("notes = 1\n# alice's notes")
    shoot(alice, "offered")
    with alice.expect_download() as download:
        alice.get_by_test_id("draft-download").click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == "notes = 1\n# alice's notes"
    expect(dialog).to_have_count(0)

    main_tab = alice.get_by_test_id("tab").filter(has_text="main.py")
    expect(main_tab.get_by_test_id("tab-modified")).to_be_visible()
    expect(alice.get_by_test_id("tab").filter(has_text="notes.py").get_by_test_id("tab-modified")).to_have_count(0)
    main_tab.click()
    expect(alice.locator(".cm-content")).to_contain_text("# typed before the crash")
    expect(alice.get_by_test_id("status-state")).to_have_text("Modified")
    shoot(alice, "restored")
    assert text_of(api, workspace, "main.py") == "print('saved')\n"  # restored, not saved behind her back
    alice.keyboard.press("Control+s")
    expect(alice.get_by_test_id("tab-modified")).to_have_count(0)
    assert text_of(api, workspace, "main.py") == "print('saved')\n# typed before the crash"
    assert text_of(api, workspace, "notes.py") == "notes = 1\n# bob was here\n# and still here"
    expect(bob.get_by_test_id("reconnected")).to_have_count(0)  # Bob's page never lost its instance

    # Her terminal is back on its tab: a new shell on this instance (the old one ended with its server).
    terminal = alice.get_by_test_id("terminal")
    expect(terminal).to_be_visible()
    type_into_terminal(alice, "echo lost=${LOST:-gone} $((6*7))\n")
    expect(terminal).to_contain_text("lost=gone 42", timeout=30_000)

    # The survivor's metrics, from this machine, in Prometheus's format.
    port = int(cluster.url.rsplit(":", 1)[1]) + int(elsewhere.removeprefix("web"))
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert scraped.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(scraped.text)}
    answered = [
        sample
        for sample in families["codeloft_http_requests"].samples
        if sample.name == "codeloft_http_requests_total" and sample.labels["status"] == "200"
    ]
    assert sum(sample.value for sample in answered) >= 1, answered  # Alice's reads since her instance died
    (pages,) = families["codeloft_open_pages"].samples
    assert pages.value >= 2  # Alice's page, now here, and Bob's

    # Stopped, nothing of the cluster runs any more.
    alice_context.close()
    bob_context.close()
    started = [cluster.pid(name) for name in ("haproxy", elsewhere, "worker1", "worker2")]
    processes = set().union(*(descendants(pid) for pid in started))
    stopped = cluster.script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in processes if alive(pid)] == []
    left = subprocess.run(["pgrep", "-f", str(cluster.data)], capture_output=True, text=True, check=False)
    assert left.stdout == "", left.stdout
