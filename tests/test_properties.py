"""Property-based tests: random and mutated inputs to the card, policy and import
parsers and the safetensors header check. Each call either succeeds or raises
fmcat's own InvalidInput (one clear line at the CLI) — never another exception —
and stays within a time and memory bound."""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmcat.errors import InvalidInput

MAX_BYTES_PER_CALL = 64 * 1024 * 1024
SETTINGS = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=40,
)


def bounded(call):
    """Run ``call``; InvalidInput is an accepted answer; memory stays bounded."""
    tracemalloc.start()
    try:
        try:
            call()
        except InvalidInput as exc:
            assert exc.message and "\n" not in exc.message
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MAX_BYTES_PER_CALL


def mutate(data: st.DataObject, text: str) -> str:
    """A few random edits: deletions, insertions of YAML/TOML/JSON punctuation."""
    for _ in range(data.draw(st.integers(0, 6))):
        if not text:
            break
        at = data.draw(st.integers(0, len(text) - 1))
        piece = data.draw(st.sampled_from(["", "*", "&a ", ":", "- ", "[", "]", "{", "}", "\"", "\n", "\t",
                                           "!!python/object:os.system ", "9" * 5000, "\x00", "\ud7ff", "=", "#"]))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + piece + text[at + cut:]
    return text


CARD = """---
license: llama2
base_model: meta-llama/Llama-2-7b-hf
datasets: [acme/chat-data]
pipeline_tag: text-generation
tags: [a, b]
---
# Model
"""


@SETTINGS
@given(st.data())
def test_card_front_matter(data):
    from fmcat.sources import _front_matter

    text = data.draw(st.one_of(st.text(max_size=400), st.just(CARD).map(lambda t: t)))
    text = mutate(data, text)
    bounded(lambda: _front_matter(text))


@SETTINGS
@given(json_values)
def test_card_from_any_json_values_builds_an_entry_or_refuses(value):
    import yaml

    from fmcat.sources import _front_matter

    meta = value if isinstance(value, dict) else {"license": value}
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n"
    bounded(lambda: _front_matter(text))


POLICY = """[use]
commercial = true
mau = 2_000_000
domains = ["customer-support"]

[rules]
allow-categories = ["open-source"]
deny-licenses = ["cc-by-nc-4.0"]

[[waivers]]
model = "x"
verdict = "allowed"
reason = "r"
approver = "a"
expires = 2027-06-30
"""


@SETTINGS
@given(st.data())
def test_policy_parser(data):
    from fmcat.policy import parse_policy

    text = mutate(data, data.draw(st.one_of(st.just(POLICY), st.text(max_size=300))))
    bounded(lambda: parse_policy(text, "policy.toml"))


ENTRY = {"name": "acme/x", "license": "mit", "repo_id": "acme/x", "revision": "0" * 40,
         "base_model": ["a/b"], "files": [{"path": "model.safetensors", "size": 4, "sha256": "a" * 64}]}


@SETTINGS
@given(st.data())
def test_import_parser(data):
    from fmcat.entries import parse_entries, read_entries
    from fmcat.licenses import knowledge_base

    base = data.draw(st.sampled_from([json.dumps(ENTRY) + "\n" + json.dumps(dict(ENTRY, name="acme/y")) + "\n",
                                      json.dumps([ENTRY]), "models:\n  - name: acme/x\n    license: mit\n"]))
    raw = mutate(data, base).encode("utf-8", errors="surrogatepass")
    suffix = data.draw(st.sampled_from(["", ".json", ".jsonl", ".yaml"]))

    def call():
        parse_entries(read_entries(raw, "import", suffix), knowledge_base(), "import")

    bounded(call)


@SETTINGS
@given(json_values)
def test_import_of_any_json_value(value):
    from fmcat.entries import parse_entries
    from fmcat.licenses import knowledge_base

    bounded(lambda: parse_entries(value if isinstance(value, list) else [value], knowledge_base(), "import"))


def _header_file(raw: bytes, data_len: int) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=".safetensors", delete=False)
    with handle:
        handle.write(len(raw).to_bytes(8, "little") + raw + b"\0" * data_len)
    return Path(handle.name)


@SETTINGS
@given(st.data())
def test_safetensors_header_check(data):
    from fmcat.verify import check_safetensors

    header = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "__metadata__": {"a": "b"}}
    number = st.one_of(st.integers(-3, 40), st.just("HUGE"), st.just(2**64), st.floats(allow_nan=False))
    structured = st.fixed_dictionaries({"w": st.fixed_dictionaries({
        "dtype": st.sampled_from(["F32", "F16", "BOOL", "??", ""]),
        "shape": st.lists(number, max_size=4),
        "data_offsets": st.lists(number, max_size=3),
    })}).map(lambda h: json.dumps(h).replace('"HUGE"', "9" * 5000).encode())  # an integer of 5000 digits
    raw = data.draw(st.one_of(
        structured,
        st.binary(max_size=300),
        st.just(json.dumps(header)).map(lambda t: mutate(data, t).encode("utf-8", errors="surrogatepass")),
        json_values.map(lambda v: json.dumps(v).encode()),
    ))
    path = _header_file(raw, data.draw(st.integers(0, 64)))
    try:
        result: list = []
        bounded(lambda: result.append(check_safetensors(path)))
        assert not result or result[0] is None or isinstance(result[0], str)
    finally:
        path.unlink()


@pytest.mark.parametrize("raw", [b"", b"\xff" * 8, (2**63).to_bytes(8, "little"), (7).to_bytes(8, "little") + b"{"])
def test_safetensors_header_edges(tmp_path, raw):
    from fmcat.verify import check_safetensors

    path = tmp_path / "x.safetensors"
    path.write_bytes(raw)
    assert isinstance(check_safetensors(path), str)
