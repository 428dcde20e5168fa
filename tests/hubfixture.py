"""A real hub-compatible server on loopback for tests: olah, serving local git
repositories (with LFS objects) as Hub model repos, in offline mode."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

import yaml

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def card(meta: Mapping, body: str = "# Model\n") -> bytes:
    return ("---\n" + yaml.safe_dump(dict(meta), sort_keys=False) + "---\n" + body).encode()


def safetensors_bytes(tensors: Mapping[str, tuple[str, list[int]]], seed: int = 0) -> bytes:
    """A valid safetensors file: name -> (dtype, shape), deterministic contents."""
    widths = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    header, blobs, offset = {}, [], 0
    for i, (name, (dtype, shape)) in enumerate(tensors.items()):
        n = widths[dtype]
        for d in shape:
            n *= d
        data = hashlib.shake_256(f"{seed}-{i}".encode()).digest(n) if n else b""
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        blobs.append(data)
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + b"".join(blobs)


class TestHub:
    """olah on 127.0.0.1:<free port>; repos are git repositories under mirrors/models."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mirrors = root / "mirrors"
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "TestHub":
        (self.mirrors / "models").mkdir(parents=True, exist_ok=True)
        config = self.root / "olah.toml"
        config.write_text(
            "[basic]\n"
            f'host = "127.0.0.1"\nport = {self.port}\n'
            f'repos-path = "{self.root / "repos"}"\n'
            f'mirrors-path = ["{self.mirrors}"]\n'
            f'mirror-netloc = "127.0.0.1:{self.port}"\n'
            f'mirror-lfs-netloc = "127.0.0.1:{self.port}"\n'
            "metadata-cache-ttl = 0\n"
            "[accessibility]\noffline = true\n"
        )
        exe = Path(sys.executable).parent / "olah-cli"
        self.log = (self.root / "olah.log").open("wb")
        self.proc = subprocess.Popen([str(exe), "--config", str(config)], cwd=self.root,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"olah exited: {(self.root / 'olah.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/api/models/none/none/revision/main", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("olah did not start within 60 s")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def _git(self, repo: Path, *args: str) -> str:
        env = dict(os.environ, GIT_AUTHOR_NAME="fmcat tests", GIT_AUTHOR_EMAIL="tests@fmcat.invalid",
                   GIT_COMMITTER_NAME="fmcat tests", GIT_COMMITTER_EMAIL="tests@fmcat.invalid")
        return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def repo_dir(self, repo_id: str) -> Path:
        return self.mirrors / "models" / repo_id

    def commit(self, repo_id: str, files: Mapping[str, bytes | None], message: str = "update") -> str:
        """Write (or, for None, delete) files and commit on main; returns the commit sha.
        Weight files are stored as real Git LFS objects with pointer files."""
        repo = self.repo_dir(repo_id)
        if not (repo / ".git").exists():
            repo.mkdir(parents=True, exist_ok=True)
            self._git(repo, "init", "-q", "-b", "main")
        for path, data in files.items():
            target = repo / path
            if data is None:
                if target.exists():
                    self._git(repo, "rm", "-q", path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith(LFS_SUFFIXES):
                sha = hashlib.sha256(data).hexdigest()
                obj = repo / ".git" / "lfs" / "objects" / sha[:2] / sha[2:4] / sha
                obj.parent.mkdir(parents=True, exist_ok=True)
                obj.write_bytes(data)
                target.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n")
            else:
                target.write_bytes(data)
        self._git(repo, "add", "-A")
        self._git(repo, "commit", "-q", "--allow-empty", "-m", message)
        return self._git(repo, "rev-parse", "HEAD")
