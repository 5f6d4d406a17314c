"""What the cluster changes on the host is put back: here with changes made by hand, so a failure names the
exact thing (the cluster tier's own teardown asserts the same after the real kubelet and kube-proxy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import ROOT

from .host_state import HostState, links, namespaces, restore_input, run, same_tables, tables

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes iptables and links: needs root")
CHAIN, LINK, NETNS = "LLM-TESTBED-PROBE", "llm-probe0", "llm-probe-ns"


def change_the_host() -> None:
    """A chain with a rule in a table that may not exist yet (nat), one in filter, one for IPv6, a link and a
    network namespace: the kinds of thing kube-proxy, the CNI plugins and the kubelet add."""
    for family, table in (("iptables", "filter"), ("iptables", "nat"), ("ip6tables", "filter")):
        run(family, "-t", table, "-N", CHAIN)
        run(family, "-t", table, "-A", "OUTPUT", "-j", CHAIN)
    run("ip", "link", "add", LINK, "type", "veth", "peer", "name", f"{LINK}-peer")
    run("ip", "netns", "add", NETNS)


def leftovers() -> list[str]:
    found = [family for family in ("iptables", "ip6tables") if CHAIN in run(f"{family}-save")]
    return found + [name for name in (LINK, NETNS) if name in links() | namespaces()]


def changed_and_restored(folder: Path) -> dict[str, object]:
    """Takes a snapshot, changes the host, restores it: what the snapshot saw, what restore reported and
    what is left."""
    state = HostState.take([folder], snapshot=folder / "host-state.json")
    change_the_host()
    problems = state.restore()
    return {"iptables_before": state.iptables, "problems": problems, "left": leftovers()}


def test_restore_undoes_chains_tables_links_and_namespaces(tmp_path: Path) -> None:
    outcome = changed_and_restored(tmp_path)
    assert outcome["problems"] == [] and outcome["left"] == []
    assert not (tmp_path / "host-state.json").exists()


def test_restore_on_a_host_where_iptables_was_never_used(tmp_path: Path) -> None:
    # A new network namespace has iptables as a new machine has it: iptables-save prints nothing.
    code = "import json, sys; from pathlib import Path; from tests.cluster.test_0_host_state import *; "
    code += "print(json.dumps(changed_and_restored(Path(sys.argv[1]))))"
    child = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout)
    assert outcome["iptables_before"] == ""  # the case under test
    assert outcome["problems"] == [] and outcome["left"] == []


def test_a_killed_runs_changes_are_undone_by_the_next_one(tmp_path: Path) -> None:
    # Given a run that took its snapshot, changed the host and was killed (its process is gone)
    snapshot = tmp_path / "host-state.json"
    HostState.take([tmp_path], snapshot=snapshot)
    change_the_host()
    dead = subprocess.Popen(["true"])
    dead.wait()
    snapshot.write_text(snapshot.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {dead.pid}'))
    # When the next run takes its own snapshot, the old one is restored first
    HostState.take([tmp_path], snapshot=snapshot).restore()
    assert leftovers() == []


@pytest.mark.parametrize("owner", ["this process", "its parent"])
def test_a_snapshot_of_this_process_or_its_ancestors_is_not_another_run(tmp_path: Path, owner: str) -> None:
    snapshot = tmp_path / "host-state.json"
    HostState.take([tmp_path], snapshot=snapshot)
    change_the_host()
    pid = os.getpid() if owner == "this process" else os.getppid()
    snapshot.write_text(snapshot.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {pid}'))
    HostState.take([tmp_path], snapshot=snapshot).restore()  # no "another test cluster is running"
    assert leftovers() == []


def test_a_live_run_elsewhere_is_refused(tmp_path: Path) -> None:
    snapshot = tmp_path / "host-state.json"
    HostState.take([tmp_path], snapshot=snapshot)
    other = subprocess.Popen(["sleep", "60"])  # alive, and no ancestor of this process
    try:
        snapshot.write_text(snapshot.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {other.pid}'))
        with pytest.raises(RuntimeError, match=f"another test cluster \\(process {other.pid}\\)"):
            HostState.take([tmp_path], snapshot=snapshot)
    finally:
        other.kill()
        other.wait()
        snapshot.unlink()


def test_a_table_that_appeared_is_emptied_and_one_that_was_there_is_put_back() -> None:
    before = "*filter\n:INPUT DROP [5:300]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
    now = before.replace("COMMIT", f":{CHAIN} - [0:0]\n-A INPUT -j {CHAIN}\nCOMMIT")
    now += f"*nat\n:OUTPUT ACCEPT [1:2]\n:POSTROUTING DROP [0:0]\n:{CHAIN} - [0:0]\n-A OUTPUT -j {CHAIN}\nCOMMIT\n"
    wanted = restore_input(before, now)
    assert tables(wanted) == {
        "filter": [":INPUT DROP", ":OUTPUT ACCEPT", "-A INPUT -i lo -j ACCEPT"],
        "nat": [":OUTPUT ACCEPT", ":POSTROUTING ACCEPT"],
    }
    assert same_tables(before, wanted) and not same_tables(before, now)
