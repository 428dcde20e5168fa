"""Identifying a license from its text (a repository's LICENSE file).

The text and the knowledge base's reference texts (``catalog/texts/``) are
normalised — Markdown markup, punctuation, case and line wrapping removed —
and compared as sets of word 5-grams. A text is identified as the reference
that it covers best, when it covers at least ``MIN_COVERAGE`` of that
reference and the reference makes up at least ``MIN_SHARE`` of the text, so
a copyright line on top or a use policy appended still match, while an
unrelated license or a short excerpt does not.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from .licenses import KnowledgeBase, knowledge_base
from .settings import package_data_dir

SHINGLE = 5
MIN_COVERAGE = 0.80  # share of the reference's shingles found in the text
MIN_SHARE = 0.35  # share of the text's shingles that belong to the reference

_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> list[str]:
    """Words of a license text, free of layout: wrapping, Markdown, quotes, case."""
    text = _MD_LINK.sub(r"\1", text)
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return _NON_WORD.sub(" ", text).split()


def _shingles(words: list[str]) -> frozenset[int]:
    if len(words) < SHINGLE:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i : i + SHINGLE])) for i in range(len(words) - SHINGLE + 1))


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identification:
    license_id: str
    reference: str  # the reference text file it matched
    coverage: float  # share of the reference present in the text
    share: float  # share of the text that is the reference


@lru_cache(maxsize=1)
def _references() -> tuple[tuple[str, str, frozenset[int]], ...]:
    kb = knowledge_base()
    base = package_data_dir("catalog") / "texts"
    refs = []
    for lic in kb.licenses.values():
        for name in lic.texts:
            words = normalise((base / name).read_text(encoding="utf-8"))
            refs.append((lic.id, name, _shingles(words)))
    return tuple(refs)


def identify(text: str, kb: KnowledgeBase | None = None) -> Identification | None:
    """The license whose reference text this is, or None."""
    doc = _shingles(normalise(text))
    if not doc:
        return None
    best: Identification | None = None
    for license_id, name, ref in _references():
        common = len(doc & ref)
        if not common:
            continue
        coverage = common / len(ref)
        share = common / len(doc)
        if coverage < MIN_COVERAGE or share < MIN_SHARE:
            continue
        candidate = Identification(license_id, name, round(coverage, 3), round(share, 3))
        if best is None or (coverage + share) > (best.coverage + best.share):
            best = candidate
    return best


# --- resolution with evidence -------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What one source said about the license."""

    source: str  # card | card-name | tags | license-file
    declared: str | None
    license_id: str | None
    detail: str | None = None


@dataclass(frozen=True)
class LicenseResolution:
    license_id: str | None  # the license that governs (most restrictive on conflict)
    declared: str | None  # as the deciding source wrote it
    source: str | None  # which source decided
    evidence: tuple[Evidence, ...]
    conflict: str | None = None
    text_sha256: str | None = None


def _from_declared(kb: KnowledgeBase, source: str, value: str) -> Evidence:
    from .errors import InvalidInput

    try:
        resolved = kb.resolve(value)
    except InvalidInput as exc:
        return Evidence(source, value, None, exc.message)
    if resolved is None or resolved.license_id is None:
        return Evidence(source, value, None, "names no specific license")
    return Evidence(source, value, resolved.license_id)


def resolve_license(
    card: dict | None = None,
    *,
    tags: list[str] | tuple[str, ...] = (),
    license_text: str | None = None,
    kb: KnowledgeBase | None = None,
) -> LicenseResolution:
    """Decide a model's license from its card metadata, tags and LICENSE text.

    Every source is recorded as evidence. When sources name different
    licenses the most restrictive governs and the conflict is described.
    """
    from .decide import restrictiveness

    kb = kb or knowledge_base()
    card = card or {}
    evidence: list[Evidence] = []
    declared = card.get("license")
    values = declared if isinstance(declared, list) else [declared] if declared else []
    for value in values:
        ev = _from_declared(kb, "card", str(value))
        evidence.append(ev)
        if ev.license_id is None and str(value).lower() == "other" and card.get("license_name"):
            named = _from_declared(kb, "card-name", str(card["license_name"]))
            link = card.get("license_link")
            evidence.append(Evidence(named.source, named.declared, named.license_id,
                                     f"license_link: {link}" if link else named.detail))
    for tag in tags:
        if isinstance(tag, str) and tag.startswith("license:"):
            value = tag.split(":", 1)[1]
            if value not in values:
                evidence.append(_from_declared(kb, "tags", value))
    sha = None
    if license_text:
        sha = text_sha256(license_text)
        found = identify(license_text, kb)
        evidence.append(Evidence(
            "license-file", found.reference if found else None, found.license_id if found else None,
            f"matches {found.reference} ({found.coverage:.0%} of it)" if found
            else "not identified as any license in the knowledge base",
        ))
    named = [e for e in evidence if e.license_id]
    if not named:
        first = evidence[0] if evidence else None
        return LicenseResolution(None, first.declared if first else None, first.source if first else None,
                                 tuple(evidence), None, sha)
    ids = {e.license_id for e in named}
    chosen = max(named, key=lambda e: restrictiveness(kb, e.license_id))
    conflict = None
    if len(ids) > 1:
        said = "; ".join(f"{e.source} says {e.license_id}" for e in named)
        conflict = f"{said}: the most restrictive, {chosen.license_id}, governs"
    return LicenseResolution(chosen.license_id, chosen.declared, chosen.source, tuple(evidence), conflict, sha)
