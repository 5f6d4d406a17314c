"""The cluster's images, built here without a registry, and imported into the node's containerd.

- a base image from Debian's packages (mmdebstrap): python3 and its venv module, as the public python image
  the Dockerfiles default to has; Dockerfile.api and Dockerfile.worker are built unchanged on it
  (`--build-arg BASE_IMAGE`);
- a Redis image (Debian's redis-server) for the chart's `redis.image`;
- the pod sandbox's pause image, from the static binary scripts/ensure_k8s_tools.sh builds.

Each image is tagged with a hash of what it is built from, and buildah keeps its layers (the worker's
several-GB dependency layer among them), so a rerun with unchanged inputs builds nothing and imports nothing.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.stack import ROOT

from .host_state import run
from .node import CACHE, PAUSE_IMAGE, Node

BUILDAH_STORAGE = CACHE / "buildah"
BUILDAH_OPTIONS = ["--root", f"{BUILDAH_STORAGE}/root", "--runroot", f"{BUILDAH_STORAGE}/run"]
BUILDAH_OPTIONS += ["--storage-driver", "overlay"]
# mmdebstrap's package lists; changing one rebuilds that image (the hash below covers them).
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
REDIS_PACKAGES = "redis-server"
DEBIAN_SUITE = "bookworm"
COMMON_INPUTS = ["pyproject.toml", "README.md", "contract"]
# What each project image is built from: its Dockerfile copies these.
PROJECT_IMAGES = {
    "api": ("Dockerfile.api", [*COMMON_INPUTS, "requirements/api.txt", "api", "operator/llm_operator"]),
    "worker": ("Dockerfile.worker", [*COMMON_INPUTS, "requirements/worker.txt", "workers"]),
}


@dataclass
class Images:
    """Names of the images the chart is installed with, and what building them cost."""

    api: str = ""
    worker: str = ""
    redis: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # 0 when cached
    sizes: dict[str, int] = field(default_factory=dict)  # bytes, as containerd stores them

    def chart_values(self) -> list[str]:
        """helm --set arguments that point the chart at these local images."""
        values = {"image.pullPolicy": "Never", "redis.image": self.redis}
        for part in ("api", "worker"):
            repository, tag = getattr(self, part).rsplit(":", 1)
            values |= {f"image.{part}.repository": repository, f"image.{part}.tag": tag}
        return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]

    def retag(self, node: Node, suffix: str) -> None:
        """The same api and worker images under new tags (as a release of new images would be)."""
        for part in ("api", "worker"):
            name = getattr(self, part)
            node.ctr("images", "tag", "--force", name, f"{name}-{suffix}")
            setattr(self, part, f"{name}-{suffix}")


def prepare(node: Node, tools: Path) -> Images:
    """Builds what is missing and imports it into the node's containerd (which must be running)."""
    images = Images()
    buildah("rm", "--all", check=False)  # working containers of a build that was killed
    base = _debian_image(node, images, "base", BASE_PACKAGES)
    images.redis = _debian_image(node, images, "redis", REDIS_PACKAGES)
    _ensure(node, images, "pause", PAUSE_IMAGE, lambda: _build_pause(tools))
    for part, (dockerfile, inputs) in PROJECT_IMAGES.items():
        name = f"localhost/llm-service-{part}:{_digest([dockerfile, *inputs], base)}"
        _ensure(node, images, part, name, lambda d=dockerfile, n=name: _buildah_bud(d, n, ROOT, base))
        setattr(images, part, name)
    return images


def buildah(*args: str, check: bool = True) -> str:
    return run("buildah", *BUILDAH_OPTIONS, *args, check=check)


def _ensure(node: Node, images: Images, label: str, name: str, build: Callable[[], None]) -> None:
    started = time.monotonic()
    if name not in node.ctr("images", "list", "-q").split():
        # Older tags go first: a new dependency layer of the worker is several GB in each store.
        _forget_older(node, name)
        if not _buildah_has(name):
            build()
        _forget_older_in_buildah(name)
        _import(node, name)
    images.seconds[label] = round(time.monotonic() - started, 1)
    images.sizes[label] = _size(node, name)


def _import(node: Node, name: str) -> None:
    """buildah's image into containerd through a pipe (no archive of several GB on disk)."""
    push = subprocess.Popen(
        ["buildah", *BUILDAH_OPTIONS, "push", name, f"docker-archive:/dev/stdout:{name}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        node.ctr("images", "import", "-", stdin_from=push.stdout)
    finally:
        push.wait()
    if push.returncode:
        raise RuntimeError(f"buildah push {name} failed ({push.returncode})")


def _buildah_has(name: str) -> bool:
    return bool(buildah("images", "--quiet", name, check=False).strip())


def _debian_image(node: Node, images: Images, label: str, packages: str) -> str:
    name = f"localhost/llm-testbed-{label}:{hashlib.sha256(f'{DEBIAN_SUITE} {packages}'.encode()).hexdigest()[:12]}"

    def build() -> None:
        folder = BUILDAH_STORAGE / f"context-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        run("mmdebstrap", "--quiet", "--variant=minbase", f"--include={packages}", DEBIAN_SUITE, f"{folder}/root.tar")
        (folder / "Containerfile").write_text("FROM scratch\nADD root.tar /\n")
        _buildah_bud("Containerfile", name, folder)

    _ensure(node, images, label, name, build)
    return name


def _build_pause(tools: Path) -> None:
    folder = BUILDAH_STORAGE / "context-pause"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pause").write_bytes((tools / "pause").read_bytes())
    (folder / "pause").chmod(0o755)
    (folder / "Containerfile").write_text('FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n')
    _buildah_bud("Containerfile", PAUSE_IMAGE, folder)


def _buildah_bud(dockerfile: str, name: str, context: Path, base: str = "") -> None:
    # runc, as containerd uses: crun refuses this sandbox's hybrid cgroups. pip inside the build reaches
    # PyPI the way this machine does (its pip.conf and CA bundle lent to the build, not copied in).
    lent = [path for path in ("/etc/pip.conf", "/etc/ssl/certs/ca-certificates.crt") if Path(path).exists()]
    options = ["--runtime", "runc", "--pull=never", "--layers", "--network", "host", "--tag", name]
    options += [arg for path in lent for arg in ("--volume", f"{path}:{path}:ro")]
    options += ["--build-arg", f"BASE_IMAGE={base}"] if base else []
    buildah("bud", *options, "--file", str(context / dockerfile), str(context))


def _digest(inputs: list[str], base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for relative in inputs:
        path = ROOT / relative
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in (f for f in files if f.is_file() and "__pycache__" not in f.parts):
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


def _forget_older(node: Node, name: str) -> None:
    """Older tags of the same image leave containerd (layers still shared stay), and so do the ids of images
    no tag names any more: the CRI gives every image it has seen a second name, its id (`sha256:...`), which
    kept each old worker image (several GB) after its tag was removed."""
    repository = name.rsplit(":", 1)[0]
    for other in node.ctr("images", "list", "-q").split():
        if other.rsplit(":", 1)[0] == repository and other != name:
            node.ctr("images", "remove", "--sync", other, check=False)
    rows = [line.split() for line in node.ctr("images", "list").splitlines()[1:] if line.strip()]
    named = {row[2] for row in rows if not row[0].startswith("sha256:")}  # REF TYPE DIGEST ...
    for row in rows:
        if row[0].startswith("sha256:") and row[2] not in named:
            node.ctr("images", "remove", "--sync", row[0], check=False)


def _forget_older_in_buildah(name: str) -> None:
    """And buildah's: its cache keeps only the layers the current images are made of."""
    repository = name.rsplit(":", 1)[0]
    for line in buildah("images", "--format", "{{.Name}}:{{.Tag}}", check=False).split():
        if line.rsplit(":", 1)[0] == repository and line != name:
            buildah("rmi", line, check=False)
    buildah("rmi", "--prune", check=False)


def _size(node: Node, name: str) -> int:
    for line in node.ctr("images", "list").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == name:
            return _bytes(fields[3], fields[4]) if len(fields) > 4 else 0
    return 0


def _bytes(number: str, unit: str) -> int:
    scale = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
    return int(float(number) * scale.get(unit, 1))
