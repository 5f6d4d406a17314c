"""What a one-node cluster changes on the host, and how to put it back.

The kubelet and kube-proxy write sysctls (vm.overcommit_memory, kernel.panic, route_localnet, ...) and
iptables chains; the CNI bridge plugin turns on IP forwarding and adds a bridge and veth pairs; the kubelet
and containerd mount tmpfs and overlay folders; CNI makes a network namespace per pod. A snapshot of each is
taken before anything starts and written back at the end, also after a failed test. It is also saved to a
file, so a run that was killed outright is undone by the next one before it starts.

iptables is put back table by table, and a table the snapshot lacks (on a host where iptables was never
used, `iptables-save` prints nothing at all) is emptied: restoring only what the snapshot names would keep
every chain the run added there.
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


def tables(saved: str) -> dict[str, list[str]]:
    """`iptables-save` output by table: its chain and rule lines, without comments, COMMIT or counters."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in saved.splitlines():
        if line.startswith("*"):
            current = found.setdefault(line[1:].strip(), [])
        elif line.startswith(":"):
            current.append(line.rsplit(" ", 1)[0])  # ":CHAIN POLICY [packets:bytes]"
        elif line.startswith("-"):
            current.append(line)
    return found


def _is_pristine(lines: list[str]) -> bool:
    """A table as iptables makes it on first use: built-in chains accepting everything, no rule."""
    return all(line.startswith(":") and line.endswith(" ACCEPT") for line in lines)


def _emptied(lines: list[str]) -> list[str]:
    """That table made pristine: its built-in chains (user chains have no policy, "-") accepting."""
    return [line.rsplit(" ", 1)[0] + " ACCEPT" for line in lines if line.startswith(":") and not line.endswith(" -")]


def restore_input(before: str, now: str) -> str:
    """What `iptables-restore` needs to turn the tables of `now` back into those of `before`: the saved
    section of each table the snapshot has (a restored table is replaced whole, added chains included), and
    each table that appeared since emptied."""
    saved, current = tables(before), tables(now)
    sections = []
    for table in sorted(saved.keys() | current.keys()):
        lines = saved[table] if table in saved else _emptied(current[table])
        body = [f"{line} [0:0]" if line.startswith(":") else line for line in lines]
        sections.append("\n".join([f"*{table}", *body, "COMMIT"]) + "\n")
    return "".join(sections)


def same_tables(before: str, now: str) -> bool:
    """Equal up to pristine tables, which an nf_tables host keeps once made (no iptables command removes a
    table): a pristine table filters nothing, exactly like an absent one."""
    saved, current = tables(before), tables(now)

    def normal(lines: list[str]) -> list[str]:
        return [] if _is_pristine(lines) else lines

    return all(normal(saved.get(t, [])) == normal(current.get(t, [])) for t in saved.keys() | current.keys())


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
    snapshot: str = str(STALE_SNAPSHOT)  # the file that outlives a killed run

    @classmethod
    def take(cls, folders: list[Path], snapshot: Path = STALE_SNAPSHOT) -> HostState:
        restore_stale(snapshot)
        state = cls([str(f) for f in folders], snapshot=str(snapshot))
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(json.dumps({"pid": os.getpid(), **asdict(state)}))
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
        problems += restore_tables("iptables", self.iptables) + restore_tables("ip6tables", self.ip6tables)
        now = sysctls()
        for key, value in self.sysctls.items():
            if now.get(key) != value and subprocess.run(["sysctl", "-qw", f"{key}={value}"]).returncode:
                problems.append(f"sysctl {key}")
        problems += [f"link {name}" for name in links() - set(self.links)]
        Path(self.snapshot).unlink(missing_ok=True)
        return problems


def restore_tables(family: str, before: str) -> list[str]:
    """Puts one family's tables back; names it when they still differ."""
    now = run(f"{family}-save", check=False)
    wanted = restore_input(before, now)
    if wanted:
        run(f"{family}-restore", stdin=wanted, check=False)
    return [] if same_tables(before, run(f"{family}-save", check=False)) else [family]


def restore_stale(snapshot: Path = STALE_SNAPSHOT) -> None:
    """Undoes a run that was killed before it could clean up (its process is gone, its snapshot is not). A
    snapshot of this process or of one it runs under is this run's own leftover, never another run."""
    if not snapshot.exists():
        return
    saved = json.loads(snapshot.read_text())
    pid = saved.pop("pid")
    if Path(f"/proc/{pid}").exists() and pid not in lineage():
        raise RuntimeError(f"another test cluster (process {pid}) is running on this machine")
    HostState(**saved).restore()


def lineage() -> set[int]:
    """This process and its ancestors."""
    pids, pid = set(), os.getpid()
    while pid > 0 and pid not in pids:
        pids.add(pid)
        try:  # the parent is the 4th field, after a command name that may hold spaces
            pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids
