"""The shared team catalog on a real PostgreSQL server: migrations, explicit
upgrades, and many writers at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from fmcat.db import SCHEMA_HEAD, SCHEMA_REVISIONS, alembic_config
from fmcat.models import Base

from .test_concurrency import run_writers
from .test_migrations import _row_in_every_table

BACKENDS = ("sqlite",)  # each test points FMCAT_DB at its own PostgreSQL database


@pytest.fixture
def pg_url(pg_cluster) -> str:
    return pg_cluster.create_database()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_migrations_on_postgresql(pg_url):
    cfg = alembic_config(url=pg_url)
    command.upgrade(cfg, "head")
    assert _revision(pg_url) == SCHEMA_HEAD
    command.check(cfg)  # models and migrations agree on PostgreSQL too
    _row_in_every_table(pg_url)
    for _ in SCHEMA_REVISIONS:
        command.downgrade(cfg, "-1")
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert not set(Base.metadata.tables) & set(inspect(conn).get_table_names())
    engine.dispose()
    command.upgrade(cfg, "head")
    _row_in_every_table(pg_url)


def test_postgresql_is_upgraded_only_explicitly(fmcat, pg_url, monkeypatch):
    monkeypatch.setenv("FMCAT_DB", pg_url)
    result = fmcat("list", expect=2)
    assert "fmcat db upgrade" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _revision(pg_url) is None  # refused, not touched
    previous = SCHEMA_REVISIONS[-2]
    command.upgrade(alembic_config(url=pg_url), previous)
    assert "run `fmcat db upgrade`" in fmcat("init", expect=2).stderr
    assert _revision(pg_url) == previous
    up = fmcat.json("db", "upgrade")
    assert (up["from"], up["to"], up["backup"]) == (previous, SCHEMA_HEAD, None)
    fmcat("init")
    assert len(fmcat.json("list")) == 27


def test_postgresql_catalog_of_a_newer_fmcat_is_refused(fmcat, pg_url, monkeypatch):
    monkeypatch.setenv("FMCAT_DB", pg_url)
    fmcat("db", "upgrade")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for args in (["list"], ["db", "upgrade"]):
        assert "newer fmcat" in fmcat(*args, expect=2).stderr
    assert _revision(pg_url) == "9999"


def test_eight_processes_fifty_adds_each_on_postgresql(pg_url):
    env = dict(os.environ, FMCAT_DB=pg_url)
    subprocess.run([sys.executable, "-m", "fmcat", "db", "upgrade"], env=env, check=True, capture_output=True)
    assert run_writers(env) == []
    rows = json.loads(subprocess.run([sys.executable, "-m", "fmcat", "list", "--json"], env=env,
                                     capture_output=True, text=True, check=True).stdout)
    assert len({r["name"] for r in rows}) == 400


def test_concurrent_db_upgrade_on_postgresql(pg_url):
    env = dict(os.environ, FMCAT_DB=pg_url)
    procs = [subprocess.Popen([sys.executable, "-m", "fmcat", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert _revision(pg_url) == SCHEMA_HEAD
