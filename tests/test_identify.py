"""License identification from text, and resolution of a model's license from
its card, tags and LICENSE file, with the evidence recorded."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from fmcat.identify import identify, resolve_license

from .conftest import REPO, SHARED

TEXTS = SHARED / "licenses" if (SHARED / "licenses").is_dir() else REPO / "catalog" / "texts"
EXPECTED = {
    "apache-2.0.txt": "apache-2.0", "mit.txt": "mit", "cc-by-nc-4.0.txt": "cc-by-nc-4.0",
    "llama2.txt": "llama2", "llama2-use-policy.txt": "llama2",
    "llama3.txt": "llama3", "llama3-use-policy.txt": "llama3",
    "llama3.1.txt": "llama3.1", "llama3.1-use-policy.txt": "llama3.1",
    "creativeml-openrail-m.txt": "creativeml-openrail-m",
    "openrail++.txt": "openrail++", "openrail++-sdxl-1.0.txt": "openrail++",
    "bigscience-openrail-m.txt": "bigscience-openrail-m", "bloom-rail-1.0.txt": "bigscience-bloom-rail-1.0",
    "gemma.txt": "gemma", "gemma-prohibited-use-policy.txt": "gemma",
    "falcon-180b-tii.txt": "falcon-180b-tii-license-1.0",
}


def test_every_shared_license_text_is_covered():
    assert sorted(p.name for p in TEXTS.glob("*.txt")) == sorted(EXPECTED)


def test_shipped_reference_texts_match_the_shared_copies():
    if not (SHARED / "licenses").is_dir():
        pytest.skip("../shared/licenses is not beside this checkout")
    for name in EXPECTED:
        assert (REPO / "catalog" / "texts" / name).read_bytes() == (SHARED / "licenses" / name).read_bytes()


def reflow(text: str) -> str:
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join(textwrap.fill(p, 58) for p in paragraphs)


def to_markdown(text: str) -> str:
    out = []
    for i, p in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        body = " ".join(p.split())
        if i == 0:
            out.append(f"# {body}")
        elif len(body) < 60:
            out.append(f"## **{body}**")
        elif i % 3 == 0:
            out.append("- " + body.replace("“", '"').replace("”", '"'))
        else:
            out.append("> " + textwrap.fill(body, 90).replace("\n", "\n> "))
    return "\n\n".join(out) + "\n"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_text_is_identified_as_its_license(name):
    text = (TEXTS / name).read_text(encoding="utf-8")
    found = identify(text)
    assert found is not None and found.license_id == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reflowed_markdown_copies_with_a_copyright_line_are_identified(name):
    text = (TEXTS / name).read_text(encoding="utf-8")
    for variant in (reflow(text), to_markdown(text), "Copyright (c) 2026 Acme Models Ltd.\n\n" + reflow(text),
                    text.replace("\n", "\r\n")):
        found = identify(variant)
        assert found is not None and found.license_id == EXPECTED[name], variant[:80]


def unrelated_texts() -> list[str]:
    texts = [(REPO / "README.md").read_text(encoding="utf-8"),
             "THE SOFTWARE IS PROVIDED AS IS. " * 3,
             (TEXTS / "llama2.txt").read_text(encoding="utf-8")[:1200]]  # an excerpt, not the license
    python_license = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "LICENSE.txt"
    if python_license.exists():
        texts.append(python_license.read_text(encoding="utf-8", errors="replace"))
    return texts


def test_unrelated_text_is_not_identified():
    for text in unrelated_texts():
        assert identify(text) is None, text[:80]
    assert identify("") is None


def test_cli_identify(fmcat, tmp_path):
    lic = tmp_path / "LICENSE.md"
    lic.write_text(to_markdown((TEXTS / "llama2.txt").read_text(encoding="utf-8")))
    data = json.loads(fmcat("licenses", "--identify", str(lic), "--json").stdout)
    assert data["license"] == "llama2" and data["coverage"] >= 0.8
    other = tmp_path / "NOTES"
    other.write_text("just some notes about the project\n")
    result = fmcat("licenses", "--identify", str(other), expect=1)
    assert "not identified" in result.stderr


def test_resolution_records_each_source():
    res = resolve_license({"license": "apache-2.0"}, tags=["license:apache-2.0"],
                          license_text=(TEXTS / "apache-2.0.txt").read_text())
    assert res.license_id == "apache-2.0" and res.conflict is None
    assert [e.source for e in res.evidence] == ["card", "license-file"]
    assert res.text_sha256 and len(res.text_sha256) == 64


def test_conflicting_sources_are_flagged_and_the_most_restrictive_wins():
    res = resolve_license({"license": "apache-2.0"}, license_text=(TEXTS / "llama2.txt").read_text())
    assert res.license_id == "llama2" and res.source == "license-file"
    assert "card says apache-2.0" in res.conflict and "license-file says llama2" in res.conflict


def test_license_other_with_a_known_license_name():
    card = {"license": "other", "license_name": "falcon-180b-tii-license-1.0",
            "license_link": "https://huggingface.co/tiiuae/falcon-180B/raw/main/LICENSE.txt"}
    res = resolve_license(card)
    assert res.license_id == "falcon-180b-tii-license-1.0"
    assert [(e.source, e.license_id) for e in res.evidence] == [("card", None), ("card-name", "falcon-180b-tii-license-1.0")]


def test_unknown_card_license_stays_unknown_with_evidence():
    res = resolve_license({"license": "my-own-license-2"})
    assert res.license_id is None and res.declared == "my-own-license-2"
    assert "unknown license" in res.evidence[0].detail
