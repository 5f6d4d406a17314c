"""What the cluster changes on the host is put back: here with changes made by hand, so a failure names the
exact thing (the cluster tier's own teardown asserts the same after the real kubelet and kube-proxy)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .host_state import STALE_SNAPSHOT, HostState, links, run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes iptables and links: needs root")
CHAIN, LINK = "LLM-TESTBED-PROBE", "llm-probe0"


def change_the_host() -> None:
    run("iptables", "-N", CHAIN)
    run("iptables", "-A", "INPUT", "-j", CHAIN)
    run("ip", "link", "add", LINK, "type", "veth", "peer", "name", f"{LINK}-peer")


def test_restore_undoes_chains_and_links(tmp_path: Path) -> None:
    state = HostState.take([tmp_path])
    change_the_host()
    assert state.restore() == []
    assert CHAIN not in run("iptables-save") and LINK not in links()
    assert not STALE_SNAPSHOT.exists()


def test_a_killed_runs_changes_are_undone_by_the_next_one(tmp_path: Path) -> None:
    # Given a run that took its snapshot, changed the host and was killed (its process is gone)
    HostState.take([tmp_path])
    change_the_host()
    dead = subprocess.Popen(["true"])
    dead.wait()
    STALE_SNAPSHOT.write_text(STALE_SNAPSHOT.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {dead.pid}'))
    # When the next run takes its own snapshot, the old one is restored first
    HostState.take([tmp_path]).restore()
    assert CHAIN not in run("iptables-save") and LINK not in links()
