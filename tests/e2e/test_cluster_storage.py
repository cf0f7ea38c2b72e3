"""Several instances: what NiceGUI's storage keeps for a person (here the theme) is in Redis, so a
browser on the other instance shows it too."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.cluster import Cluster, running_cluster
from tests.conftest import REDIS_TEST_URL
from tests.e2e.conftest import open_sign_in_link

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    redis_url = REDIS_TEST_URL.rsplit("/", 1)[0] + "/8"
    with running_cluster(
        tmp_path_factory.mktemp("cluster"), database="codeloft_cluster_e2e", redis_url=redis_url
    ) as running:
        yield running


def signed_in(browser: Browser, cluster: Cluster, link: str) -> tuple[BrowserContext, Page, str]:
    """A browser signed in through HAProxy, and the instance its sticky cookie names."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    open_sign_in_link(page, link)
    expect(page.get_by_test_id("user-label")).to_be_visible()
    (instance,) = [cookie["value"] for cookie in context.cookies() if cookie["name"] == "CODELOFT_INSTANCE"]
    return context, page, instance


def test_the_theme_chosen_on_one_instance_shows_on_the_other(browser: Browser, cluster: Cluster) -> None:
    first, page, home = signed_in(browser, cluster, cluster.link)
    for _ in range(6):  # round robin: a new browser goes to the other instance
        second, other, elsewhere = signed_in(browser, cluster, cluster.owner_link())
        if elsewhere != home:
            break
        second.close()
    assert {home, elsewhere} == {"web1", "web2"}
    dark = re.compile(r"body--dark")
    expect(other.locator("body")).not_to_have_class(dark)
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("body")).to_have_class(dark)
    other.reload()
    expect(other.locator("body")).to_have_class(dark)
    first.close()
    second.close()
