"""License identification from text is exact or says what differs, and a
model's license is resolved from its card, tags and every license-like file,
with the evidence recorded."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from fmcat.identify import identify, identify_all, normalise, resolve_license
from fmcat.licenses import knowledge_base

from .conftest import REPO, SHARED

BACKENDS = ("sqlite",)  # identification does not depend on the catalog's database
SHIPPED = REPO / "catalog" / "texts"
HAVE_SHARED = (SHARED / "licenses").is_dir()
NO_SHARED = ("the project's shared/ folder is not beside this checkout (../shared/licenses): the shipped copies in "
             "catalog/texts/ were tested instead; put shared/ beside the checkout to compare against it too")
TEXTS = SHARED / "licenses" if HAVE_SHARED else SHIPPED
# every reference text the knowledge base names, and the license it belongs to
EXPECTED = {name: lic.id for lic in knowledge_base().licenses.values() for name in lic.texts}


def text_of(name: str) -> str:
    return (TEXTS / name).read_text(encoding="utf-8")


def test_every_reference_text_the_knowledge_base_names_is_shipped():
    assert sorted(EXPECTED) == sorted(p.name for p in SHIPPED.glob("*.txt"))


@pytest.mark.skipif(not HAVE_SHARED, reason=NO_SHARED)
def test_shipped_reference_texts_match_the_shared_copies():
    for name in EXPECTED:
        assert (SHIPPED / name).read_bytes() == (SHARED / "licenses" / name).read_bytes(), name


def reflow(text: str) -> str:
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join(textwrap.fill(p, 58, break_long_words=False, break_on_hyphens=False) for p in paragraphs)


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
            out.append("> " + textwrap.fill(body, 90, break_long_words=False).replace("\n", "\n> "))
    return "\n\n".join(out) + "\n"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_text_is_identified_as_its_license(name):
    found = identify_all(text_of(name))
    assert [(f.license_id, f.status, f.similarity) for f in found] == [(EXPECTED[name], "identified", 1.0)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reflowed_markdown_copies_with_a_copyright_line_are_identified(name):
    text = text_of(name)
    for variant in (reflow(text), to_markdown(text), "Copyright (c) 2026 Acme Models Ltd.\n\n" + reflow(text),
                    text.replace("\n", "\r\n")):
        found = identify(variant)
        assert found is not None and found.license_id == EXPECTED[name], variant[:80]


# --- modified copies ---------------------------------------------------------------


def _sentences(text: str) -> list[re.Match]:
    """Sentences of at least eight words (of a reflowed copy: one line a paragraph)."""
    found = [m for m in re.finditer(r"(?m)(?:^|(?<=[.;:] ))([A-Z](?:[^.;:\n]|[.:](?=\S)){40,300}[.;])(?=\s|$)", text)]
    return [m for m in found if len(m.group(1).split()) >= 8]


def with_number_changed(text: str) -> tuple[str, str, str] | None:
    numbers = [m for m in re.finditer(r"(?<![\w.])(\d{1,9})(?![\w.])", text)
               if not re.match(r"\s*(copyright|©)", text[text.rfind("\n", 0, m.start()) + 1 : m.start()], re.I)]
    if not numbers:
        return None
    m = numbers[len(numbers) // 2]
    new = str(int(m.group(1)) + 7)
    return text[: m.start()] + new + text[m.end():], m.group(1), new


ADDED = "You may not use the Work or any part of it for any commercial purpose whatsoever."


def unwrap(text: str) -> str:
    """One line a paragraph: a layout change only, so it is still the same license."""
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())


def with_sentence_added(text: str) -> str:
    text = unwrap(text)
    m = _sentences(text)[len(_sentences(text)) // 2]
    return text[: m.end()] + " " + ADDED + text[m.end():]


def with_clause_removed(text: str) -> tuple[str, str]:
    text = unwrap(text)
    sentences = _sentences(text)
    m = sentences[len(sentences) // 3]
    return text[: m.start()] + text[m.end():], m.group(1)


def _only_modified(text: str, license_id: str):
    found = identify_all(text)
    assert len(found) == 1, [(f.license_id, f.status) for f in found]
    item = found[0]
    assert (item.license_id, item.status) == (license_id, "modified")
    assert item.similarity < 1.0 and "100%" not in item.summary()
    assert identify(text) is None  # never identified as the original
    return item


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_copy_with_one_number_changed_is_modified_with_that_passage_shown(name):
    changed = with_number_changed(text_of(name))
    if changed is None:
        pytest.skip(f"{name} has no number outside a copyright line to change")
    text, old, new = changed
    item = _only_modified(text, EXPECTED[name])
    assert any(d.reference.split()[-1:] == [old] and d.text.split()[-1:] == [new] or
               (old in d.reference.split() and new in d.text.split()) for d in item.differences), item.differences


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_copy_with_one_sentence_added_is_modified_with_that_passage_shown(name):
    item = _only_modified(with_sentence_added(text_of(name)), EXPECTED[name])
    # the diff may align the sentence a few words earlier or later ("you may ..."): same words
    added = [d for d in item.differences if d.kind == "added"]
    assert len(added) == 1 and sorted(added[0].text.split()) == sorted(normalise(ADDED)), item.differences
    assert "any commercial purpose whatsoever" in added[0].text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_copy_with_one_clause_removed_is_modified_with_that_passage_shown(name):
    text, removed = with_clause_removed(text_of(name))
    exact = [f for f in identify_all(text) if f.exact]
    if exact:  # BSD-3-Clause less its third clause *is* BSD-2-Clause: then it must be identified as that
        assert [f.license_id for f in exact] != [EXPECTED[name]]
        other = text_of(next(n for n, lid in EXPECTED.items() if lid == exact[0].license_id and n != name))
        assert normalise(other) == normalise(text)
        return
    item = _only_modified(text, EXPECTED[name])
    gone = normalise(removed)
    removed_diffs = [d for d in item.differences if d.kind == "removed"]
    assert len(removed_diffs) == 1 and len(removed_diffs[0].reference.split()) == len(gone), item.differences
    middle = " ".join(gone[len(gone) // 2 - 2 : len(gone) // 2 + 2])
    assert middle in removed_diffs[0].reference


def test_the_llama2_agreement_with_7_million_decides_unknown(initialised, tmp_path):
    folder = tmp_path / "llama-ft"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: llama2\n---\n")
    (folder / "LICENSE").write_text(text_of("llama2.txt").replace("700 million", "7 million"))
    (folder / "model.safetensors").write_bytes(b"x")
    initialised("add", str(folder))
    result = initialised("check-license", "llama-ft", "--mau", "1000", "--json", expect=1)
    d = json.loads(result.stdout)[0]
    assert d["verdict"] == "unknown"
    assert "modified license text" in d["reasons"][0]["text"] and '"700" became "7"' in d["reasons"][0]["text"]
    shown = initialised("show", "llama-ft").stdout
    assert "modified llama2" in shown and '"700" became "7"' in shown


# --- no text is another license -----------------------------------------------------


@pytest.mark.skipif(not HAVE_SHARED, reason=NO_SHARED)
@pytest.mark.parametrize("name", sorted(p.name for p in (SHARED / "licenses").glob("*.txt")) if HAVE_SHARED else [])
def test_no_shared_text_is_identified_as_a_different_license(name):
    text = (SHARED / "licenses" / name).read_text(encoding="utf-8")
    found = identify_all(text)
    for item in found:
        if item.exact:
            assert EXPECTED.get(name) == item.license_id, (name, item.license_id)
    if name in EXPECTED:
        assert [f.license_id for f in found if f.exact] == [EXPECTED[name]]
    else:  # a text the knowledge base does not name: never identified, at most a modified copy
        assert identify(text) is None


@pytest.mark.skipif(not HAVE_SHARED, reason=NO_SHARED)
def test_siblings_are_told_apart():
    for sibling, itself, not_this in (
        ("cc-by-nc-nd-4.0.txt", "cc-by-nc-nd-4.0", "cc-by-nc-4.0"), ("cc-by-nd-4.0.txt", "cc-by-nd-4.0", "cc-by-nc-4.0"),
        ("cc-by-sa-4.0.txt", "cc-by-sa-4.0", "cc-by-nc-4.0"), ("llama3.2.txt", "llama3.2", "llama3.1"),
        ("llama3.3.txt", "llama3.3", "llama3.1"), ("llama4.txt", "llama4", "llama3.1"),
        ("ecl-2.0.txt", "ecl-2.0", "apache-2.0"), ("falcon-2-11b-tii.txt", "falcon-2-11b-tii-license-1.0", "apache-2.0"),
        ("falcon-2-11b-tii.txt", "falcon-2-11b-tii-license-1.0", "falcon-180b-tii-license-1.0"),
    ):
        text = (SHARED / "licenses" / sibling).read_text(encoding="utf-8")
        assert [(f.license_id, f.status) for f in identify_all(text)] == [(itself, "identified")], sibling
        # with the sibling's text changed a little, it is a modified copy of itself, not of its sibling
        changed = with_sentence_added(text)
        found = identify_all(changed)
        assert [(f.license_id, f.status) for f in found] == [(itself, "modified")], sibling
        assert not_this not in {f.license_id for f in found}


def test_a_file_holding_two_licenses_reports_both():
    found = identify_all(text_of("mit.txt") + "\n\n---\n\n" + text_of("apache-2.0.txt"))
    assert sorted((f.license_id, f.status) for f in found) == [("apache-2.0", "identified"), ("mit", "identified")]


def test_a_license_with_extra_words_of_no_license_is_modified():
    item = _only_modified(text_of("apache-2.0.txt") + "\n\nAddendum: this model may only be used for research.\n",
                          "apache-2.0")
    assert any("only be used for research" in d.text for d in item.differences)


def unrelated_texts() -> list[str]:
    texts = [(REPO / "README.md").read_text(encoding="utf-8"),
             "THE SOFTWARE IS PROVIDED AS IS. " * 3,
             text_of("llama2.txt")[:1200]]  # an excerpt, not the license
    python_license = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "LICENSE.txt"
    if python_license.exists():
        texts.append(python_license.read_text(encoding="utf-8", errors="replace"))
    return texts


def test_unrelated_text_is_not_identified():
    for text in unrelated_texts():
        assert identify(text) is None, text[:80]
        assert not any(f.exact for f in identify_all(text))
    assert identify_all(text_of("llama2.txt")[:1200]) == []
    assert identify("") is None


def test_cli_identify_several_files(fmcat, tmp_path):
    lic = tmp_path / "LICENSE.md"
    lic.write_text(to_markdown(text_of("llama2.txt")))
    changed = tmp_path / "LICENSE-7M"
    changed.write_text(text_of("llama2.txt").replace("700 million", "7 million"))
    other = tmp_path / "NOTES"
    other.write_text("just some notes about the project\n")
    result = fmcat("licenses", "--identify", str(lic), str(changed), str(other), "--json", expect=1)
    data = {Path(d["file"]).name: d for d in json.loads(result.stdout)}
    assert data["LICENSE.md"]["status"] == "identified"
    assert data["LICENSE.md"]["licenses"][0]["license"] == "llama2"
    assert data["LICENSE-7M"]["status"] == "modified"
    diff = data["LICENSE-7M"]["licenses"][0]["differences"]
    assert [(d["reference"], d["text"]) for d in diff] == [("700", "7")]
    assert data["NOTES"]["status"] == "not-identified"
    text = fmcat("licenses", "--identify", str(changed), expect=1).stdout
    assert "modified llama2" in text and '"700" became "7"' in text
    assert fmcat("licenses", "--identify", str(lic)).stdout.startswith("identical to llama2.txt")


# --- resolution -----------------------------------------------------------------------


def test_resolution_records_each_source():
    res = resolve_license({"license": "apache-2.0"}, tags=["license:apache-2.0"],
                          license_text=text_of("apache-2.0.txt"))
    assert res.license_id == "apache-2.0" and res.conflict is None
    assert [e.source for e in res.evidence] == ["card", "license-file"]
    assert res.text_sha256 and len(res.text_sha256) == 64


def test_conflicting_sources_are_flagged_and_the_most_restrictive_wins():
    res = resolve_license({"license": "apache-2.0"}, license_text=text_of("llama2.txt"))
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


# every spelling of a license-like file the issue names, in a folder beside an apache-2.0 card
LICENSE_FILE_NAMES = [
    "LICENSE", "license.md", "LICENSE.txt", "Licence", "LICENCE.md", "COPYING", "copying.txt",
    "LICENSE-MODEL", "license-model.md", "MODEL_LICENSE", "model_license.txt", "USE_POLICY.md",
    "use_policy.txt", "llama.license", "LICENSE/LLAMA2.txt", "licenses/llama2.txt", "Licenses/META.md",
]


@pytest.mark.parametrize("filename", LICENSE_FILE_NAMES)
def test_a_llama2_text_under_any_license_file_name_governs_over_an_apache_card(fmcat, tmp_path, filename):
    folder = tmp_path / "ft"
    (folder / filename).parent.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# a fine-tune\n")
    text = text_of("llama2-use-policy.txt" if "use_policy" in filename.lower() else "llama2.txt")
    (folder / filename).write_text(text)
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    fmcat("add", str(folder))
    d = json.loads(fmcat("check-license", "ft", "--mau", "800000000", "--json", expect=1).stdout)[0]
    assert d["license"] == "llama2" and d["verdict"] == "needs-permission"
    assert any("license conflict" in f and "card says apache-2.0" in f for f in d["flags"])
    shown = fmcat.json("show", "ft")
    assert any(e["source"] == "license-file" and e["declared"] == filename and e["license"] == "llama2"
               for e in shown["license_evidence"])


def test_the_reference_index_is_cached_by_the_texts_hashes(tmp_path, monkeypatch):
    import fmcat.identify as ident

    monkeypatch.setenv("FMCAT_HOME", str(tmp_path / "home"))
    ident._references.cache_clear()
    built = ident._references()
    (cached,) = (tmp_path / "home" / "cache").glob("license-index-*.json")
    stamp = cached.stat().st_mtime_ns
    ident._references.cache_clear()
    assert ident._references() == built and cached.stat().st_mtime_ns == stamp  # read, not rebuilt
    # an index for other texts (another key) is never used
    data = json.loads(cached.read_text())
    data["key"] = "0" * 64
    cached.write_text(json.dumps(data))
    ident._references.cache_clear()
    assert ident._references() == built
    ident._references.cache_clear()


def test_an_unknown_license_text_beside_a_known_card_decides_unknown(fmcat, tmp_path):
    """A LICENSE file holding terms fmcat does not know governs as unknown, never as the
    card's license; a short pointer ("see the model card") is only noted."""
    custom = ("ACME MODEL LICENSE. " + "The licensee may use the model only on Tuesdays and must pay a fee. " * 12)
    for name, text, verdict in (("custom", custom, "unknown"), ("pointer", "Apache 2.0, see the model card.\n", "allowed")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
        (folder / "LICENSE").write_text(text)
        (folder / "model.safetensors").write_bytes(b"\0" * 8)
        fmcat("add", str(folder))
        d = json.loads(fmcat("check-license", name, "--json", expect=None).stdout)[0]
        assert d["verdict"] == verdict, d
        if verdict == "unknown":
            assert "a license text fmcat does not know" in d["reasons"][0]["text"]
