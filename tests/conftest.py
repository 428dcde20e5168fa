from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fmcat.cli import cli as fmcat_group

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def _listing(folder: Path) -> list[tuple[str, int, int]] | None:
    try:
        return sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir())
    except OSError:
        return None


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own catalog file, fmcat home and Hub cache; and fails if it
    wrote into the user's own fmcat folder (a test that undid its environment did)."""
    from platformdirs import user_data_path

    own = user_data_path("fmcat", appauthor=False)
    before = _listing(own)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("FMCAT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FMCAT_DB", str(tmp_path / "catalog.db"))
    monkeypatch.delenv("FMCAT_DEBUG", raising=False)
    yield tmp_path
    assert _listing(own) == before, f"the test wrote into the user's own fmcat folder {own}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


class Runner:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, expect: int | None = 0):
        result = self.runner.invoke(fmcat_group, list(args), input=input, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


# --- SQLite and PostgreSQL ---------------------------------------------------------


def pytest_generate_tests(metafunc):
    """CLI tests run on both backends, except those about SQLite files themselves
    (they ask for ``db_path``) and modules that name their BACKENDS."""
    if "backend" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "BACKENDS", ("sqlite", "postgresql"))
        if "db_path" in metafunc.fixturenames:
            backends = ("sqlite",)
        metafunc.parametrize("backend", list(backends), indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    from .pgfixture import PgCluster

    cluster = PgCluster()
    if not cluster.available:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (.ci/run installs them)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (the postgres extra)")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def backend(request) -> str:
    return request.param


@pytest.fixture
def fmcat(backend, request, monkeypatch) -> Runner:
    runner = Runner()
    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        monkeypatch.setenv("FMCAT_DB", cluster.create_database())
        runner("db", "upgrade")  # a shared catalog is upgraded explicitly
    return runner


@pytest.fixture
def initialised(fmcat: Runner) -> Runner:
    fmcat("init")
    return fmcat


def export_text(fmcat: Runner) -> str:
    return fmcat("export", "--format", "jsonl").stdout


def assert_one_line_error(result, *needles: str) -> None:
    """exit 2, exactly one line on stderr, no traceback, naming what went wrong."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]


# --- a real hub on loopback, and fmcat run as a user runs it ---------------------


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory):
    from .hubfixture import TestHub

    server = TestHub(tmp_path_factory.mktemp("hub")).start()
    yield server
    server.stop()


class Cli:
    """fmcat in a fresh process, with the environment a user would have."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, expect: int | None = 0, input: str | None = None, timeout: float = 120):
        import subprocess
        import sys

        proc = subprocess.run([sys.executable, "-m", "fmcat", *args], env=self.env, capture_output=True,
                              text=True, input=input, timeout=timeout)
        if expect is not None:
            assert proc.returncode == expect, (
                f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def json(self, *args: str, expect: int | None = 0, timeout: float = 120):
        return json.loads(self(*args, "--json", expect=expect, timeout=timeout).stdout)


@pytest.fixture
def cli(tmp_path, hub_server) -> Cli:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FMCAT_", "HF_"))}
    env.update(
        FMCAT_DB=str(tmp_path / "catalog.db"), FMCAT_HOME=str(tmp_path / "home"),
        HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=hub_server.endpoint,
        HF_HUB_DISABLE_TELEMETRY="1", FMCAT_DISABLE_PROGRESS_BARS="1",
    )
    return Cli(env)
