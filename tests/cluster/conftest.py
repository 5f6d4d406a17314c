"""One real single-node cluster for every test in this folder, with the chart installed once.

The tests run in file order (test_1_... to test_6_...): later ones build on the release the earlier ones
installed, and the last one uninstalls it. The cluster's images are built from this checkout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Api

from .cluster import LocalCluster

# Written for the docs and for a failure's post-mortem (pods, events, every container's logs).
REPORT = Path(__file__).parent.parent.parent / "logs" / "cluster-report.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The whole tier is slow and stateful: run it after every other test, in its own file order.
    cluster_items = [item for item in items if "tests/cluster/" in str(item.path)]
    for item in cluster_items:
        item.add_marker(pytest.mark.timeout(900))  # the first one also starts the cluster and installs the chart
    others = [item for item in items if item not in cluster_items]
    items[:] = others + sorted(cluster_items, key=lambda item: str(item.path))


@pytest.fixture(scope="session")
def report() -> Iterator[dict[str, object]]:
    """Figures the tests measure (image sizes, build and scaling times), written to logs/ for the docs."""
    figures: dict[str, object] = {}
    yield figures
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2) + "\n")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, report: dict[str, object]) -> Iterator[LocalCluster]:
    if os.geteuid() != 0:
        pytest.skip("the one-node cluster needs root (containerd, network namespaces, iptables, mounts)")
    bed = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    report |= {"images": bed.images.sizes, "image seconds": bed.images.seconds, **bed.timings}
    yield bed
    try:
        REPORT.parent.mkdir(exist_ok=True)
        (REPORT.parent / "cluster-diagnostics.txt").write_text(bed.diagnostics())
    finally:
        assert bed.stop() == [], "the host was not put back as it was"


@pytest.fixture(scope="session")
def installed(cluster: LocalCluster, tiny_model: Path) -> LocalCluster:
    """The chart with values-local.yaml; every component's pods Ready through their own probes."""
    cluster.install(tiny_model)
    cluster.wait_all_ready()
    return cluster


@pytest.fixture(scope="session")
def api(installed: LocalCluster) -> Api:
    """The api Service at its cluster address (see LocalCluster.api_url)."""
    return Api(None, installed.api_url())


@pytest.fixture(scope="session")
def key(installed: LocalCluster) -> str:
    return installed.api_key()
