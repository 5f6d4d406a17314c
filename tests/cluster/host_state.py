"""What a one-node cluster changes on the host, and how to put it back.

The kubelet and kube-proxy write sysctls (vm.overcommit_memory, kernel.panic, route_localnet, ...) and
iptables chains; the CNI bridge plugin turns on IP forwarding and adds a bridge and veth pairs; the kubelet
and containerd mount tmpfs and overlay folders; CNI makes a network namespace per pod. A snapshot of each is
taken before anything starts and written back at the end, also after a failed test. It is also saved to a
file, so a run that was killed outright is undone by the next one before it starts.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

# Only these families are compared: other sysctls (counters, random seeds) change by themselves.
SYSCTL_PREFIXES = ("vm.", "kernel.panic", "net.ipv4.", "net.ipv6.conf.all.", "net.bridge.", "net.netfilter.")
STALE_SNAPSHOT = Path("/run/llm-service-testbed/host-state.json")


def run(*command: str, check: bool = True, stdin: str | None = None, stdin_from: IO[bytes] | None = None) -> str:
    """A command's output; stdin is text to send, or stdin_from a pipe to read from."""
    if stdin_from is not None:
        piped = subprocess.run(command, stdin=stdin_from, capture_output=True, check=False)
        result = subprocess.CompletedProcess(command, piped.returncode, piped.stdout.decode(), piped.stderr.decode())
    else:
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def sysctls() -> dict[str, str]:
    """The writable ones (counters such as nf_conntrack_count are read-only)."""
    values = {}
    for line in run("sysctl", "-a", check=False).splitlines():
        key, _, value = line.partition(" = ")
        if key.startswith(SYSCTL_PREFIXES) and _writable(key):
            values[key] = value
    return values


def _writable(key: str) -> bool:
    try:
        return bool(Path("/proc/sys", *key.split(".")).stat().st_mode & stat.S_IWUSR)
    except OSError:
        return False


def links() -> set[str]:
    return {entry["ifname"] for entry in json.loads(run("ip", "-j", "link", "show"))}


def namespaces() -> set[str]:
    return {line.split()[0] for line in run("ip", "netns", "list", check=False).splitlines() if line.strip()}


def mounts_under(folder: Path) -> list[str]:
    targets = run("findmnt", "-rn", "-o", "TARGET", check=False).splitlines()
    prefix = str(folder.resolve()).rstrip("/") + "/"
    return sorted((t for t in targets if t.startswith(prefix)), key=len, reverse=True)


@dataclass
class HostState:
    folders: list[str]  # whatever is mounted under these at the end is unmounted
    sysctls: dict[str, str] = field(default_factory=sysctls)
    iptables: str = field(default_factory=lambda: run("iptables-save"))
    ip6tables: str = field(default_factory=lambda: run("ip6tables-save", check=False))
    links: list[str] = field(default_factory=lambda: sorted(links()))
    namespaces: list[str] = field(default_factory=lambda: sorted(namespaces()))

    @classmethod
    def take(cls, folders: list[Path]) -> HostState:
        restore_stale()
        state = cls([str(f) for f in folders])
        STALE_SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        STALE_SNAPSHOT.write_text(json.dumps({"pid": os.getpid(), **asdict(state)}))
        return state

    def restore(self) -> list[str]:
        """Puts everything back; returns what could not be (empty when the host is as it was)."""
        problems: list[str] = []
        for folder in self.folders:
            for target in mounts_under(Path(folder)):
                if subprocess.run(["umount", "-l", target], capture_output=True).returncode:
                    problems.append(f"umount {target}")
        for name in namespaces() - set(self.namespaces):
            run("ip", "netns", "delete", name, check=False)
        for name in links() - set(self.links):
            run("ip", "link", "delete", name, check=False)
        run("iptables-restore", stdin=self.iptables)
        if self.ip6tables:
            run("ip6tables-restore", stdin=self.ip6tables, check=False)
        now = sysctls()
        for key, value in self.sysctls.items():
            if now.get(key) != value and subprocess.run(["sysctl", "-qw", f"{key}={value}"]).returncode:
                problems.append(f"sysctl {key}")
        problems += [f"link {name}" for name in links() - set(self.links)]
        STALE_SNAPSHOT.unlink(missing_ok=True)
        return problems


def restore_stale() -> None:
    """Undoes a run that was killed before it could clean up (its process is gone, its snapshot is not)."""
    if not STALE_SNAPSHOT.exists():
        return
    saved = json.loads(STALE_SNAPSHOT.read_text())
    pid = saved.pop("pid")
    if Path(f"/proc/{pid}").exists():
        raise RuntimeError(f"another test cluster (process {pid}) is running on this machine")
    HostState(**saved).restore()
