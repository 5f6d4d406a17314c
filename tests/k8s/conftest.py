"""One Kubernetes test bed (etcd + kube-apiserver on loopback) for every test in this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .kube import Kube
from .testbed import TestBed


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBed]:
    bed = TestBed(tmp_path_factory.mktemp("k8s")).start()
    yield bed
    bed.stop()


@pytest.fixture(scope="session")
def kube(testbed: TestBed) -> Kube:
    return Kube(testbed.server, testbed.workdir)
