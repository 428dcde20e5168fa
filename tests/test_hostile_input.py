"""Hostile input, as one table: each case exits 2 (1 where it is a finding),
says what went wrong in one line on stderr, shows no traceback, and leaves
the catalog exactly as it was (its export is byte-for-byte the same)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from .hubfixture import safetensors_bytes


@dataclass
class Case:
    args: list[str]
    needle: str = ""
    code: int = 2
    files: dict[str, bytes] | None = None  # written under tmp_path first
    setup: Callable[[Path], None] | None = None


def _newer_schema(tmp: Path) -> None:
    path = tmp / "newer.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("INSERT INTO alembic_version VALUES ('9999')")
    con.commit()
    con.close()


def _escaping_link(tmp: Path) -> None:
    folder = tmp / "linky"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    os.symlink("/etc/hostname", folder / "stolen.txt")


def _liar(tmp: Path) -> None:
    folder = tmp / "liar"
    folder.mkdir()
    good = safetensors_bytes({"w": ("F32", [4, 4])})
    n = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + n])
    header["w"]["data_offsets"] = [0, 1 << 40]
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + good[8 + n:])


def _deep_json() -> bytes:
    return b"[" * 200_000 + b"]" * 200_000


def _bomb() -> bytes:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 20) + "]")  # 20**8 leaves
    return "\n".join(lines).encode()


def _entry(**kw) -> bytes:
    return json.dumps([{"name": "acme/x", **kw}]).encode()


CASES: dict[str, Case] = {
    # repo ids and names
    "repo id with ..": Case(["add", "../etc"], "nor a Hub repo id"),
    "repo id with three parts": Case(["add", "a/b/c"], "not a Hub repo id"),
    "empty repo id": Case(["add", ""], "empty model source"),
    "oversized repo id": Case(["add", "x" * 300 + "/y"], "not a Hub repo id"),
    "repo id with spaces": Case(["add", "acme/my model"], "not a Hub repo id"),
    "repo id with a bell": Case(["add", "acme/\x07model"], "not a Hub repo id"),
    "repo id with double dots": Case(["add", "acme/mo..del"], "not a Hub repo id"),
    "revision with newline": Case(["add", "acme/model@ma\nin"], "not a valid revision"),
    "api name traversal": Case(["add", "--api-only", "--provider", "X", "../../etc/passwd"], "segment"),
    "api without provider": Case(["add", "--api-only", "acme/hosted"], "--provider"),
    "unknown license": Case(["add", "--api-only", "--provider", "X", "x/y", "--license", "apache-2.1"], "apache-2.0"),
    "misspelled license": Case(["add", "--api-only", "--provider", "X", "x/y", "--license", "lama2"], "unknown license"),
    "bad spdx syntax": Case(["add", "--api-only", "--provider", "X", "x/y", "--license", "MIT AND ("], "license"),
    "spdx with unknown": Case(["add", "--api-only", "--provider", "X", "x/y", "--license", "MIT OR GPL-9.0"], "unknown license"),
    "show traversal": Case(["show", "../../etc/passwd"], "no model named"),
    "show sql": Case(["show", "x'; DROP TABLE models; --"], "no model named"),
    "show huge name": Case(["show", "y" * 10_000], "no model named"),
    "remove unknown": Case(["remove", "nope/nope"], "no model named"),
    "check unknown model": Case(["check-license", "nope/nope"], "no model named"),
    # numbers and domains
    "negative mau": Case(["check-license", "--all", "--mau", "-1"], "-1"),
    "absurd mau": Case(["check-license", "--all", "--mau", str(10**20)], "more than there are people"),
    "mau not a number": Case(["check-license", "--all", "--mau", "lots"], "lots"),
    "bad domain": Case(["check-license", "--all", "--domain", "Medical Advice!"], "domain"),
    "negative timeout": Case(["smoke-test", "--all", "--timeout", "-5"], "-5"),
    "unknown licence id for licenses": Case(["licenses", "apache-2.1"], "apache-2.0"),
    # files to import
    "import truncated json": Case(["import", "{tmp}/a.json"], "malformed JSON", files={"a.json": b'[{"name": "a/b",'}),
    "import deep json": Case(["import", "{tmp}/deep.json"], "nested too deeply", files={"deep.json": _deep_json()}),
    "import yaml bomb": Case(["import", "{tmp}/bomb.yaml"], "alias", files={"bomb.yaml": _bomb()}),
    "import bad yaml": Case(["import", "{tmp}/b.yaml"], "malformed YAML", files={"b.yaml": b"models: [a, {b: c\n"}),
    "import latin-1": Case(["import", "{tmp}/l.yaml"], "UTF-8", files={"l.yaml": b"- name: caf\xe9\n"}),
    "import control chars": Case(["import", "{tmp}/c.json"], "control characters", files={"c.json": _entry(provider="a\x1bb")}),
    "import file traversal": Case(["import", "{tmp}/t.json"], "relative", files={"t.json": _entry(files=[{"path": "../../x"}])}),
    "import absolute file": Case(["import", "{tmp}/t2.json"], "relative", files={"t2.json": _entry(files=[{"path": "/etc/passwd"}])}),
    "import negative size": Case(["import", "{tmp}/n.json"], "invalid size", files={"n.json": _entry(files=[{"path": "x", "size": -1}])}),
    "import absurd size": Case(["import", "{tmp}/s.json"], "invalid size", files={"s.json": _entry(files=[{"path": "x", "size": 2**62}])}),
    "import sql revision": Case(["import", "{tmp}/r.json"], "revision", files={"r.json": _entry(revision="' OR 1=1 --")}),
    "import unknown license": Case(["import", "{tmp}/u.json"], "unknown license", files={"u.json": _entry(license="gpl-9")}),
    "import huge name": Case(["import", "{tmp}/h.json"], "longer than", files={"h.json": json.dumps([{"name": "n" * 5000}]).encode()}),
    "import unknown key": Case(["import", "{tmp}/k.json"], "unknown key", files={"k.json": _entry(licence="mit")}),
    "import wrong type": Case(["import", "{tmp}/w.json"], "must be", files={"w.json": _entry(datasets={"a": 1})}),
    "import empty": Case(["import", "{tmp}/e.json"], "empty", files={"e.json": b""}),
    "import a directory": Case(["import", "{tmp}"], "directory"),
    # policies
    "policy bad toml": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "malformed TOML", files={"p.toml": b"[use\n"}),
    "policy unknown key": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "unknown key", files={"p.toml": b"[rules]\nallow = []\n"}),
    "policy negative mau": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "negative", files={"p.toml": b"[use]\nmau = -3\n"}),
    "policy huge mau": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "more than there are people", files={"p.toml": b"[use]\nmau = 9223372036854775807\n"}),
    "policy waiver no expiry": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "expires",
                                    files={"p.toml": b'[[waivers]]\nmodel="x"\nverdict="allowed"\nreason="r"\napprover="a"\n'}),
    "policy oversized": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "larger than 1 MiB",
                             files={"p.toml": b"# " + b"x" * (2 << 20) + b"\n"}),
    "policy not utf-8": Case(["check-license", "--all", "--policy", "{tmp}/p.toml"], "UTF-8", files={"p.toml": b"\xff\xfe[use]\n"}),
    # catalogs and folders
    "db is not a database": Case(["--db", "{tmp}/notes.txt", "list"], "not an fmcat catalog", files={"notes.txt": b"hello" * 100}),
    "db is a directory": Case(["--db", "{tmp}", "list"], "directory"),
    "db of a newer schema": Case(["--db", "{tmp}/newer.db", "list"], "newer fmcat", setup=_newer_schema),
    "db url nonsense": Case(["--db", "nosuchdriver://x/y", "list"], "nosuchdriver"),
    "empty model folder": Case(["add", "{tmp}/emptydir"], "empty", setup=lambda t: (t / "emptydir").mkdir()),
    "folder link escapes": Case(["add", "{tmp}/linky"], "points outside", setup=_escaping_link),
    "file is not a folder": Case(["add", "./{tmp}/f.txt"], "not a directory", files={"f.txt": b"x"}),
    "export to missing dir": Case(["export", "-o", "{tmp}/no/such/dir/x.jsonl"], "cannot write"),
    "report to missing dir": Case(["report", "-o", "{tmp}/no/such/dir/r.html"], "cannot write"),
    # a finding, not trouble: exit 1
    "lying safetensors header": Case(["verify", "liar"], "data_offsets", code=1, setup=_liar),
}


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(initialised, tmp_path, name):
    case = CASES[name]
    tmp = tmp_path / "in"
    tmp.mkdir()
    for fname, data in (case.files or {}).items():
        (tmp / fname).write_bytes(data)
    if case.setup:
        case.setup(tmp)
    if name == "lying safetensors header":
        initialised("add", str(tmp / "liar"), "--license", "mit")
    args = [a.replace("{tmp}", str(tmp)).replace("./" + str(tmp), str(tmp)) for a in case.args]
    before = initialised("export").stdout
    result = initialised(*args, expect=None)
    assert result.exit_code == case.code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    output = result.stderr if case.code == 2 else result.stdout
    if case.code == 2:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, result.stderr
        assert len(lines[0]) < 600
    assert case.needle.lower() in output.lower(), output
    assert initialised("export").stdout == before
