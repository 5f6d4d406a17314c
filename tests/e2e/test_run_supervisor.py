"""`make run`'s supervisor: starts Redis, a worker and the api, serves, and Ctrl-C stops every one."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from ..support.stack import API_KEY, ROOT, Api, children_of, free_port, service_env, wait_for_final, wait_until


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_supervisor_runs_the_stack_and_ctrl_c_stops_it(tmp_path: Path, tiny_model: Path) -> None:
    # Given nothing running on the chosen ports
    redis_port, api_port = free_port(), free_port()
    env = service_env(
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        api_port=api_port,
        api_keys=API_KEY,
        model_name=tiny_model,
        served_model_name="dev",
        log_dir=tmp_path / "logs",
        heartbeat_interval=0.5,
    )
    env.pop("XDG_RUNTIME_DIR", None)
    env["HOME"] = str(tmp_path / "home")  # where Gunicorn would put its one control socket per user
    output = (tmp_path / "dev.out").open("wb")
    supervisor = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev.py"), "run"], env=env, cwd=tmp_path, stdout=output, stderr=output
    )
    try:
        # When it has started, the service works end to end
        api = Api(None, f"http://127.0.0.1:{api_port}")  # type: ignore[arg-type]

        def healthy() -> bool:
            assert supervisor.poll() is None, (tmp_path / "dev.out").read_text()
            try:
                return bool(requests.get(api.url("/health"), timeout=2).json()["model_loaded"])
            except requests.ConnectionError:
                return False

        wait_until(healthy, 90, "the supervised stack to be healthy", interval=0.2)
        started = requests.post(api.url("/generate"), headers={"X-API-Key": API_KEY}, json={"prompt": "hi"}, timeout=5)
        assert wait_for_final(api, started.json()["task_id"])["status"] == "completed"
        children = children_of(supervisor.pid)
        assert len(children) == 3  # redis-server, the worker, gunicorn
        # Two stacks on one machine do not share a Gunicorn control socket: there is none
        assert not (tmp_path / "home" / ".gunicorn").exists()
        # Then Ctrl-C stops every process it started, and it exits cleanly
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
        assert not listening(redis_port) and not listening(api_port)
        assert (tmp_path / ".redis-data").is_dir()  # Redis kept its append-only file beside the caller
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        output.close()
