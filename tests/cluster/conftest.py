"""One real single-node cluster for every test in this folder, with the chart installed once.

The tests run in file order (test_1_... to test_6_...): later ones build on the release the earlier ones
installed, and the last one uninstalls it. The cluster's images are built from this checkout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Api

from .cluster import PREFIX, LocalCluster

COMPONENTS = {"api": 2, "redis": 1, "operator": 1, "worker": 1}
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
    bed = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    report |= {"images": bed.images.sizes, "image seconds": bed.images.seconds, **bed.timings}
    yield bed
    assert bed.stop() == [], "the host was not put back as it was"


@pytest.fixture(scope="session")
def installed(cluster: LocalCluster, tiny_model: Path) -> LocalCluster:
    """The chart with values-local.yaml; every component's pods Ready through their own probes."""
    cluster.install(tiny_model)
    for component, count in COMPONENTS.items():
        cluster.wait_ready(f"app.kubernetes.io/component={component}", count, 600)
    return cluster


@pytest.fixture(scope="session")
def api(installed: LocalCluster) -> Iterator[Api]:
    """The api Service through `kubectl port-forward`, on loopback."""
    forward, url = installed.port_forward(f"{PREFIX}-api", 80)
    yield Api(forward, url)
    forward.stop()


@pytest.fixture(scope="session")
def key(installed: LocalCluster) -> str:
    return installed.api_key()
