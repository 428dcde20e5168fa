"""A throwaway Ray cluster on loopback for the fleet tests and benchmark.

Every packet stays on loopback: each node binds a loopback address other than
127.0.0.1 (Ray swaps 127.0.0.1 for the outward interface), the dashboard is off
and its cloud probe is stopped by a private HOME holding
``ray_bootstrap_config.yaml``, usage stats and token auth are off, every port is
chosen free, and only the processes started here are stopped (each node runs
``ray start --block`` in its own session, killed as a group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .hubfixture import free_port

BIN = Path(sys.executable).parent
_TAKEN: set[int] = set()


class RayCluster:
    def __init__(self, head_cpus: int = 1) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fmray", dir="/tmp"))  # short: Ray's socket paths are bounded
        (self.root / "home").mkdir()
        (self.root / "home" / "ray_bootstrap_config.yaml").write_text("# keeps Ray's dashboard off the cloud metadata address\n")
        self.head_ip = "127.0.0.2"
        self.taken = _TAKEN  # every port a cluster of this process was given, so two never meet
        self.port = self._one_port()
        self.address = f"{self.head_ip}:{self.port}"
        self.head_cpus = head_cpus
        self.nodes: dict[str, subprocess.Popen] = {}

    def _one_port(self) -> int:
        port = distinct_free_ports(1, avoid=self.taken)[0]
        self.taken.add(port)
        return port

    def settings(self) -> dict[str, str]:
        """What every process touching this cluster needs in its environment."""
        return {"HOME": str(self.root / "home"), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
                "RAY_DISABLE_DOCKER_CPU_WARNING": "1", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(self.settings())
        return env

    def _ports(self) -> list[str]:
        """Free ports for every service of a node, all different (and different from any
        port an earlier node of this cluster took), and a block of 51 for its workers."""
        ports = distinct_free_ports(6, avoid=self.taken)
        while True:
            workers = free_port()
            block = set(range(workers, workers + 51))
            if workers + 50 < 65536 and not block & (self.taken | set(ports)):
                break
        self.taken.update(set(ports) | block)
        names = ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                 "--dashboard-agent-grpc-port", "--metrics-export-port", "--runtime-env-agent-port")
        return [*(x for name, port in zip(names, ports) for x in (name, str(port))),
                "--min-worker-port", str(workers), "--max-worker-port", str(workers + 50)]

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.nodes[name] = subprocess.Popen(
            [str(BIN / "ray"), "start", "--block", "--disable-usage-stats", "--num-gpus=0", *args, *self._ports()],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> "RayCluster":
        self._start("head", ["--head", f"--node-ip-address={self.head_ip}", f"--port={self.port}",
                             f"--num-cpus={self.head_cpus}", "--include-dashboard=false",
                             f"--dashboard-port={self._one_port()}",  # its head process runs even so
                             f"--temp-dir={self.root / 't'}"])
        self.wait_nodes(1)
        return self

    def add_worker(self, name: str, ip: str, cpus: int = 1) -> None:
        self._start(name, [f"--address={self.address}", f"--node-ip-address={ip}", f"--num-cpus={cpus}"])

    def _gcs_up(self) -> bool:
        import socket

        try:
            with socket.create_connection((self.head_ip, self.port), timeout=1):
                return True
        except OSError:
            return False

    def alive_nodes(self) -> list[str]:
        if not self._gcs_up():
            return []
        code = ("import json, ray; ray.init(address=%r, _node_ip_address=%r, log_to_driver=False, "
                "logging_level='ERROR'); print(json.dumps([n['NodeManagerAddress'] for n in ray.nodes() "
                "if n['Alive']]))" % (self.address, self.head_ip))
        proc = subprocess.run([sys.executable, "-c", code], env=self.env(), capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 0:
            return []
        import json

        return json.loads(proc.stdout.strip().splitlines()[-1])

    def wait_nodes(self, n: int, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, proc in self.nodes.items():
                if proc.poll() is not None and name == "head":
                    raise RuntimeError(f"ray head exited: {(self.root / 'head.log').read_text()[-2000:]}")
            if len(self.alive_nodes()) >= n:
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {n} nodes within {timeout:g} s")

    def sessions(self) -> list[int]:
        return [p.pid for p in self.nodes.values()]

    def kill(self, name: str) -> None:
        """SIGKILL a node and everything it started (its raylet, GCS and workers, which
        Ray puts in process groups of their own but in the node's session), as a crash would."""
        proc = self.nodes.pop(name)
        _kill_session(proc.pid)
        proc.wait(30)

    def stop(self) -> None:
        """Stop every node this cluster started, and only those."""
        for name in list(self.nodes):
            self.kill(name)
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def distinct_free_ports(n: int, avoid: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    """``n`` different free ports: each socket stays bound until all are chosen, so the
    system cannot hand the same port out twice."""
    import socket

    held, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            held.append(s)
            if port not in avoid and port not in ports:
                ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


def session_pids(sid: int) -> set[int]:
    """Every process of a session (a node started in its own session, and all it started)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            members.add(int(entry.name))
    return members


def _kill_session(sid: int) -> None:
    for _ in range(3):
        members = session_pids(sid)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
