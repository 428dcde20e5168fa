from __future__ import annotations

import json

import pytest

from .conftest import assert_one_line_error, export_text

SHA = "a" * 40
ENTRY = {
    "name": "acme/tiny",
    "display_name": "Tiny",
    "provider": "Acme",
    "license": "Apache-2.0",  # normalised to the knowledge-base id
    "repo_id": "acme/tiny",
    "revision": SHA,
    "task": "text-generation",
    "files": [{"path": "model.safetensors", "size": 10, "sha256": "b" * 64, "lfs": True},
              {"path": "config.json", "size": 2, "blob_id": "c" * 40}],
}


def test_import_normalises_license_and_records_files(fmcat, tmp_path):
    f = tmp_path / "in.json"
    f.write_text(json.dumps([ENTRY]))
    fmcat("import", str(f))
    d = fmcat.json("show", "acme/tiny")
    assert d["license"] == "apache-2.0" and d["license_declared"] == "Apache-2.0"
    assert d["category"] == "open-source" and d["revision"] == SHA and d["source"] == "hub"
    assert [(f["path"], f["lfs"]) for f in d["files"]] == [("config.json", False), ("model.safetensors", True)]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "yaml"])
def test_export_import_round_trip(initialised, fmcat, tmp_path, monkeypatch, fmt):
    f = tmp_path / "in.json"
    f.write_text(json.dumps([ENTRY]))
    fmcat("import", str(f))
    out = tmp_path / f"catalog.{fmt}"
    fmcat("export", "-o", str(out))
    before = export_text(fmcat)
    monkeypatch.setenv("FMCAT_DB", str(tmp_path / "other.db"))
    result = json.loads(fmcat("import", str(out), "--json").stdout)
    assert result["added"] == len(before.splitlines())
    assert export_text(fmcat) == before


def test_import_from_stdin_and_reimport_is_unchanged(fmcat):
    line = json.dumps({"name": "acme/x", "license": "mit"}) + "\n"
    first = json.loads(fmcat("import", "-", "--json", input=line).stdout)
    again = json.loads(fmcat("import", "-", "--json", input=line).stdout)
    assert (first["added"], again["added"], again["updated"]) == (1, 0, 0)


def test_category_is_only_typed_for_entries_without_license(fmcat, tmp_path):
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps({"name": "vendor/hosted", "category": "commercial", "access": "api"}) + "\n")
    fmcat("import", str(ok))
    assert fmcat.json("show", "vendor/hosted")["category"] == "commercial"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"name": "x/y", "license": "mit", "category": "custom"}) + "\n")
    assert_one_line_error(fmcat("import", str(bad), expect=None), "derived from the license")


MALFORMED = {
    "bad.json": '[{"name": "a/b",',
    "bad.yaml": "models:\n  - name: [unclosed\n",
    "bad.jsonl": '{"name": "a/b"}\n{"name": \n',
    "unknown-key.json": json.dumps([{"name": "a/b", "licence": "mit"}]),
    "unknown-license.json": json.dumps([{"name": "a/b", "license": "apache-2.1"}]),
    "bad-expression.json": json.dumps([{"name": "a/b", "license": "mit AND ("}]),
    "traversal.json": json.dumps([{"name": "a/b", "files": [{"path": "../../etc/passwd"}]}]),
    "dotdot-name.json": json.dumps([{"name": "../etc"}]),
    "bad-revision.json": json.dumps([{"name": "a/b", "revision": "main; DROP TABLE models"}]),
    "negative-size.json": json.dumps([{"name": "a/b", "files": [{"path": "x", "size": -1}]}]),
    "not-a-list.json": json.dumps({"models": "a/b"}),
    "control-chars.json": json.dumps([{"name": "a/\u0007b"}]),
    "duplicate.json": json.dumps([{"name": "a/b"}, {"name": "a/b"}]),
    "empty.json": "",
}


@pytest.mark.parametrize("filename", sorted(MALFORMED))
def test_malformed_import_is_all_or_nothing(initialised, tmp_path, filename):
    good = {"name": "acme/first-good-record", "license": "mit"}
    path = tmp_path / filename
    text = MALFORMED[filename]
    if filename.endswith(".json") and text.startswith("[") and text.endswith("]"):
        text = json.dumps([good] + json.loads(text))  # a valid record before the bad one
    path.write_text(text)
    before = export_text(initialised)
    result = initialised("import", str(path), expect=None)
    assert_one_line_error(result)
    assert export_text(initialised) == before


def test_import_non_utf8_and_missing_file(initialised, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"models:\n  - name: caf\xe9\n")
    assert_one_line_error(initialised("import", str(path), expect=None), "UTF-8")
    assert_one_line_error(initialised("import", str(tmp_path / "missing.json"), expect=None), "missing.json")


def test_yaml_alias_bomb_is_refused(initialised, tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 20) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert_one_line_error(initialised("import", str(path), expect=None), "alias")


def test_export_to_stdout_formats(initialised):
    lines = initialised("export").stdout.splitlines()
    assert len(lines) == 27 and all(json.loads(ln)["name"] for ln in lines)
    assert isinstance(initialised.json("export"), list)
    assert initialised("export", "--format", "yaml").stdout.startswith("models:")


def test_export_file_is_written_atomically(initialised, tmp_path):
    out = tmp_path / "x.jsonl"
    initialised("export", "-o", str(out))
    assert len(out.read_text().splitlines()) == 27
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.jsonl")] == []


def test_export_to_unwritable_place_is_one_line(initialised, tmp_path):
    result = initialised("export", "-o", str(tmp_path / "no" / "such" / "dir" / "x.jsonl"), expect=None)
    assert result.exit_code == 2 and "Traceback" not in result.stderr


# --- the YAML export's direct writer ------------------------------------------------

TRICKY = ["yes", "No", "ON", "off", "true", "False", "null", "Null", "~", "", " ", "=", "<<", ".inf", "-.INF", ".nan",
          "1e3", "1.0", "1_000", "0x1F", "0o7", "017", "0b101", "1:20", "190:20:30", "2024-01-01", "2024-1-1 10:00",
          "a: b", "a #b", "a#b", "-a", "- a", "?x", ":x", "x:", "[x]", "{x}", "x, y", "'q'", '"q"', "@x", "`x`",
          "!x", "&x", "*x", "|x", ">x", "%x", "a  b", "a ", " a", "a\nb", "a\tb", "é", "naïve", "日本", "a\u2028b",
          "\x7f", "x" * 200, "word " * 20, "Llama 2 70B Chat", "org0/model-000001", "e" * 64, "0" * 40, "3e5",
          "12345678901234567890", "-1", "+1", "0", "00", "1e", "e1", "a.b", "_x", "x_", "v1.2.3", "N/A", "n/a",
          *(" ".join(["word"] * k) for k in range(12, 22))]  # 59-109 characters: PyYAML folds past 80 columns


def _pyyaml(entry) -> str:
    import yaml

    return yaml.dump([entry], Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     allow_unicode=True)


def test_the_direct_yaml_writer_writes_what_pyyaml_writes_or_steps_aside():
    from fmcat.exporting import FastYaml

    fast = FastYaml()
    taken = 0
    for i, text in enumerate(TRICKY):
        for entry in ({"name": text}, {"name": "m", "display_name": text}, {"name": "m", "datasets": [text]},
                      {"name": "m", "card": {"k": text, "nested": {"deep": text}}},
                      {"name": "m", "files": [{"path": text, "size": i, "lfs": bool(i % 2)}]},
                      {"name": "m", text: 1}, {"name": "m", "card": {text: [text, {"x": text}]}}):
            got = fast.item(entry)
            assert got is None or got == _pyyaml(entry), entry
            taken += got is not None
    assert taken > 50
    common = {"name": "org0/model-000001", "display_name": "Llama 2 70B Chat", "license": "llama2",
              "revision": "5f0b02c75b57c5855da9ae460ce51323ea669d8a", "datasets": ["c4", "wikipedia"], "has_remote_code": False,
              "files": [{"path": "model.safetensors", "size": 10, "sha256": "3e5" + "a" * 61, "lfs": True,
                         "details": {"quantization": "Q4_K_M"}}], "card": {}, "unconfirmed": []}
    assert fast.item(common) == _pyyaml(common)  # the common case is written directly, not left to PyYAML
    shared, empty = {"quantization": "Q4_K_M"}, []
    for twice in ({"name": "m", "files": [{"path": "a", "details": shared}, {"path": "b", "details": shared}]},
                  {"name": "m", "datasets": empty, "unconfirmed": empty}):
        assert "&id001" in _pyyaml(twice) and fast.item(twice) is None  # PyYAML anchors an object met twice
    # strings PyYAML quotes or folds are never written plain
    for text in ("yes", "null", "1.5e+3", "2024-01-01", "a: b", "-a", "", "word " * 20, "é", "1.0", "0x1F"):
        assert fast.item({"name": text}) is None


def test_the_direct_yaml_writer_on_generated_entries():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from fmcat.exporting import FastYaml

    fast = FastYaml()
    text = st.one_of(st.sampled_from(TRICKY), st.text(alphabet="ab1-_./: #'\"é\n", max_size=12),
                     st.text(alphabet="abcxyz ", min_size=60, max_size=90))
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
    value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(text, inner, max_size=3)), max_leaves=8)
    entry = st.dictionaries(st.one_of(st.sampled_from(["name", "license", "files", "card"]), text), value,
                            min_size=1, max_size=5)

    @settings(max_examples=400, deadline=None)
    @given(entry)
    def check(e):
        got = fast.item(e)
        assert got is None or got == _pyyaml(e)

    check()
