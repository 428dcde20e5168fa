"""Identifying a license from its text (a repository's LICENSE files), exactly.

A text and the knowledge base's reference texts (``catalog/texts/``) are
normalised for layout only: Markdown markup, punctuation, quotes, case, line
wrapping and copyright/holder lines (``Copyright (c) 2024 Acme``, the Apache
appendix's ``Copyright [yyyy] [name of copyright owner]``) are set aside. Then:

- a text whose words *are* one reference, or several references one after
  another (MIT then Apache), is ``identified`` as each of them;
- otherwise the closest reference (by how much of it the text holds, in
  order) is compared word by word with ``difflib``: the text is a ``modified``
  copy of it, with every differing passage kept, and it decides ``unknown`` —
  never as the original;
- a text that holds too little of any reference is not identified.

Sibling licenses (CC BY-NC vs CC BY-NC-ND, Llama 3.1 vs 3.2) differ in words, so
a text is never identified as a sibling: at most it is a modified copy of it.
Similarity is reported as a share that only an identical text reaches 1.0.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .licenses import KnowledgeBase, knowledge_base
from .settings import package_data_dir

SHINGLE = 5
MIN_CANDIDATE = 0.3  # share of a reference's shingles a text must hold to be compared with it
MIN_SIMILAR = 0.6  # share of a reference's words, in order, a text must hold to be a modified copy
MAX_DIFF_RATIO = 6  # a text longer than this many times the reference is not diffed word by word
MAX_DIFFERENCES = 50  # differences kept per identification
SHORT_REFERENCE = 120  # words: a reference this short may lose a sentence and still be recognised
MIN_SHORT = 0.3  # ... if the text holds this share of it and is itself nearly all the reference's words
MIN_UNKNOWN_TEXT = 100  # words: an unidentified license file this long is a license of its own, not a note
CONTEXT_WORDS = 6

_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NON_WORD = re.compile(r"[^0-9a-z]+")
# a line that only states copyright: "Copyright (c) 2024 Acme", "© Acme", "Copyright [yyyy] [name ...]"
_COPYRIGHT_LINE = re.compile(
    r"^[\s#>*_`-]*(?:copyright\s*(?:\(c\)|©|\d{4}|\[yyyy\]|<year>)|©|\(c\)\s*(?:\d{4}|copyright))", re.IGNORECASE
)
_MAX_COPYRIGHT_LINE = 160


def _layout_free(text: str) -> str:
    """The text without its copyright statements: a short paragraph that is one,
    however it is wrapped. A copyright notice inside a paragraph (a required Notice
    text, a boilerplate notice) stays: it is part of the license's words."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
    return "\n\n".join(b for b in blocks
                        if not (len(" ".join(b.split())) <= _MAX_COPYRIGHT_LINE and _COPYRIGHT_LINE.match(b)))


def normalise(text: str) -> list[str]:
    """Words of a license text, free of layout: wrapping, Markdown, quotes, case,
    copyright and holder lines."""
    text = _MD_LINK.sub(r"\1", _layout_free(text))
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return _NON_WORD.sub(" ", text).split()


def _shingles(words: list[str]) -> frozenset[int]:
    if len(words) < SHINGLE:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i : i + SHINGLE])) for i in range(len(words) - SHINGLE + 1))


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Difference:
    """One passage where a text differs from the reference (normalised words)."""

    kind: str  # changed | added | removed
    reference: str  # the reference's words here ("" when the text adds words)
    text: str  # the text's words here ("" when the text leaves words out)
    context: str  # the reference's words just before

    def describe(self) -> str:
        where = f"after \"{self.context}\": " if self.context else "at the start: "
        if self.kind == "added":
            return f"{where}added \"{self.text}\""
        if self.kind == "removed":
            return f"{where}removed \"{self.reference}\""
        return f"{where}\"{self.reference}\" became \"{self.text}\""


@dataclass(frozen=True)
class Identification:
    license_id: str
    reference: str  # the reference text file
    status: str  # identified | modified
    similarity: float  # share of the reference's words the text holds in order; 1.0 only when identical
    differences: tuple[Difference, ...] = field(default=())
    more_differences: int = 0  # differences beyond those kept

    @property
    def exact(self) -> bool:
        return self.status == "identified"

    def summary(self) -> str:
        if self.exact:
            return f"identical to {self.reference} ({self.license_id})"
        n = len(self.differences) + self.more_differences
        return (f"modified {self.license_id}: {n} passage{'s' if n != 1 else ''} differ from {self.reference} "
                f"({_floor_pct(self.similarity)} of it kept)")


def _floor_pct(share: float) -> str:
    return f"{math.floor(share * 1000) / 10:g}%"


@dataclass(frozen=True)
class _Reference:
    license_id: str
    name: str
    joined: str  # " w1 w2 ... wn ": the normalised words, padded for whole-word search
    snippets: tuple[str, ...]  # a few runs of words spread over the text, for cheap candidate search

    @property
    def words(self) -> list[str]:
        return self.joined.split()

    @property
    def shingles(self) -> frozenset[int]:
        return _shingles(self.words)


INDEX_VERSION = 1  # bump when normalisation or the index layout changes
SNIPPETS = 24
SNIPPET_WORDS = 6


def _snippets(words: list[str]) -> tuple[str, ...]:
    if len(words) <= SNIPPET_WORDS:
        return (" " + " ".join(words) + " ",) if words else ()
    step = max(1, (len(words) - SNIPPET_WORDS) // SNIPPETS)
    picks = range(0, len(words) - SNIPPET_WORDS + 1, step)
    return tuple(dict.fromkeys(" " + " ".join(words[i : i + SNIPPET_WORDS]) + " " for i in picks))[:SNIPPETS]


@lru_cache(maxsize=1)
def _references() -> tuple[_Reference, ...]:
    """The reference index: built from ``catalog/texts/`` once, then read from a cache
    file keyed by the texts' hashes (normalising ~100 texts costs a tenth of a second)."""
    import json

    from .settings import cache_dir

    kb = knowledge_base()
    base = package_data_dir("catalog") / "texts"
    named = [(lic.id, name) for lic in kb.licenses.values() for name in lic.texts]
    raw = {name: (base / name).read_bytes() for _, name in named}
    key = hashlib.sha256(json.dumps([INDEX_VERSION, named]).encode()
                         + b"".join(hashlib.sha256(raw[n]).digest() for _, n in named)).hexdigest()
    path = cache_dir() / f"license-index-{key[:32]}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return tuple(_Reference(lid, name, joined, tuple(snips))
                         for lid, name, joined, snips in cached["refs"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    refs = []
    for lid, name in named:
        words = normalise(raw[name].decode("utf-8"))
        refs.append(_Reference(lid, name, " " + " ".join(words) + " ", _snippets(words)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "refs": [[r.license_id, r.name, r.joined, list(r.snippets)]
                                                         for r in refs]}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return tuple(refs)


def _exact_spans(joined: str, refs: tuple[_Reference, ...]) -> list[tuple[int, int, _Reference]]:
    """Word spans of the text that are a whole reference, longest first, not overlapping."""
    found: list[tuple[int, int, _Reference]] = []
    for ref in sorted(refs, key=lambda r: -len(r.joined)):
        if len(ref.joined) > len(joined):
            continue
        at = joined.find(ref.joined)
        while at >= 0:
            start = joined.count(" ", 0, at + 1) - 1
            span = (start, start + ref.joined.count(" ") - 1)
            if not any(s < span[1] and span[0] < e for s, e, _ in found):
                found.append((*span, ref))
                break
            at = joined.find(ref.joined, at + 1)
    return sorted(found, key=lambda f: f[0])


def _diff(words: list[str], ref: _Reference) -> tuple[float, float, float, tuple[Difference, ...], int]:
    """How much of the reference ``words`` hold in order, how much of ``words`` is
    the reference's, how alike the two are (difflib's ratio, which also counts the
    text's extra words), and the passages that differ."""
    ref_words = ref.words
    if len(words) > MAX_DIFF_RATIO * len(ref_words) + 200:
        held = len(ref.shingles & _shingles(words)) / max(1, len(ref.shingles))
        extra = Difference("added", "", f"{len(words) - len(ref_words)} more words than the reference", "")
        return min(held, 0.999), 0.0, 0.0, (extra,), 0
    matcher = difflib.SequenceMatcher(None, words, ref_words, autojunk=False)
    matched = sum(b.size for b in matcher.get_matching_blocks())
    ratio = 2 * matched / max(1, len(words) + len(ref_words))
    diffs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        kind = {"replace": "changed", "insert": "removed", "delete": "added"}[tag]
        context = " ".join(ref_words[max(0, j1 - CONTEXT_WORDS) : j1])
        diffs.append(Difference(kind, " ".join(ref_words[j1:j2])[:500], " ".join(words[i1:i2])[:500], context))
    similarity = matched / max(1, len(ref_words))
    if diffs:
        similarity = min(similarity, 0.999)
    contained = matched / max(1, len(words))
    return similarity, contained, ratio, tuple(diffs[:MAX_DIFFERENCES]), max(0, len(diffs) - MAX_DIFFERENCES)


def _closest(words: list[str], refs: tuple[_Reference, ...]) -> Identification | None:
    """The reference this text is a modified copy of, if any. Candidates are found
    cheaply (runs of words of each found in the other), then compared word by word."""
    if not words:
        return None
    joined = " " + " ".join(words) + " "
    mine = _snippets(words)
    scored = []
    for ref in refs:
        theirs = sum(s in joined for s in ref.snippets) / max(1, len(ref.snippets))
        ours = sum(s in ref.joined for s in mine) / max(1, len(mine))
        if theirs >= MIN_CANDIDATE or (ours >= 0.8 and ref.joined.count(" ") - 1 <= SHORT_REFERENCE):
            scored.append((theirs + ours, ref))
    scored.sort(key=lambda s: (-s[0], s[1].name))
    best: tuple[float, Identification] | None = None
    for _, ref in scored[:3]:
        similarity, contained, ratio, diffs, more = _diff(words, ref)
        short = ref.joined.count(" ") - 1 <= SHORT_REFERENCE
        # a short text (WTFPL, a one-paragraph policy) that lost a sentence has lost much of
        # itself: it still counts when nearly all the text is the reference's
        needed = MIN_SHORT if short and contained >= 0.8 else MIN_SIMILAR
        if similarity < needed:
            continue
        candidate = Identification(ref.license_id, ref.name, "modified", similarity, diffs, more)
        # the closest is the one most alike as a whole: a short reference the text merely contains
        # (MIT inside NCSA) loses to the longer one the text almost is
        if best is None or (ratio, similarity) > (best[0], best[1].similarity):
            best = (ratio, candidate)
    return best[1] if best else None


def identify_all(text: str, kb: KnowledgeBase | None = None) -> list[Identification]:
    """Every license the text holds: each reference it is exactly made of, or the
    closest reference it is a modified copy of. Empty when nothing matches."""
    words = normalise(text)
    if not words:
        return []
    refs = _references()
    spans = _exact_spans(" " + " ".join(words) + " ", refs)
    found = [Identification(ref.license_id, ref.name, "identified", 1.0) for _, _, ref in spans]
    rest: list[str] = []
    pos = 0
    for start, end, _ in spans:
        rest += words[pos:start]
        pos = end
    rest += words[pos:]
    if not rest:
        return _dedupe(found)
    exact = {ref.name for _, _, ref in spans}
    modified = _closest(rest if spans else words, tuple(r for r in refs if r.name not in exact))
    if modified is not None:
        return _dedupe([*found, modified])
    if spans:
        # whole references plus words of no reference: text was added to the first one
        first = spans[0][2]
        added = Difference("added", "", " ".join(rest)[:500], "")
        size = first.joined.count(" ") - 1
        return _dedupe([Identification(first.license_id, first.name, "modified", size / (size + len(rest)),
                                       (added,)), *found[1:]])
    return []


def _dedupe(items: list[Identification]) -> list[Identification]:
    """One result per license: an agreement and its use policy are one license."""
    out: dict[str, Identification] = {}
    for item in items:
        have = out.get(item.license_id)
        if have is None or (have.exact and not item.exact):
            out[item.license_id] = item
    return list(out.values())


def identify(text: str, kb: KnowledgeBase | None = None) -> Identification | None:
    """The license this text is exactly, or None (also for a modified copy: see
    ``identify_all`` for what differs)."""
    found = identify_all(text, kb)
    return found[0] if len(found) == 1 and found[0].exact else None


# --- resolution with evidence -------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What one source said about the license."""

    source: str  # card | card-name | tags | license-file | user
    declared: str | None
    license_id: str | None
    detail: str | None = None
    text_sha256: str | None = None
    modified_from: str | None = None  # a license file that is an altered copy of this license
    unknown_text: bool = False  # a license file that holds a license text fmcat does not know


@dataclass(frozen=True)
class LicenseResolution:
    license_id: str | None  # the license that governs (most restrictive on conflict)
    declared: str | None  # as the deciding source wrote it
    source: str | None  # which source decided
    evidence: tuple[Evidence, ...]
    conflict: str | None = None
    text_sha256: str | None = None
    doubt: str | None = None  # why no license can govern (a modified license text)


def _from_declared(kb: KnowledgeBase, source: str, value: str) -> Evidence:
    from .errors import InvalidInput

    try:
        resolved = kb.resolve(value)
    except InvalidInput as exc:
        return Evidence(source, value, None, exc.message)
    if resolved is None or resolved.license_id is None:
        return Evidence(source, value, None, "names no specific license")
    return Evidence(source, value, resolved.license_id)


def _other(kb: KnowledgeBase, card: dict) -> list[Evidence]:
    """``license: other``: the license the card names (``license_name``, any spelling the
    knowledge base knows) or links to (``license_link``, a known URL of a license)."""
    out = []
    name, link = card.get("license_name"), card.get("license_link")
    link = link if isinstance(link, str) else None
    if name:
        named = _from_declared(kb, "card-name", str(name))
        out.append(Evidence(named.source, named.declared, named.license_id,
                            f"license_link: {link}" if link and named.license_id else named.detail))
    if link and not any(e.license_id for e in out):
        linked = kb.license_for_link(link)
        out.append(Evidence("card-link", link[:300], linked,
                            None if linked else "the link is not a license text fmcat knows: a person must read it"))
    return out


def gguf_evidence(kb: KnowledgeBase, path: str, details: dict) -> list[Evidence]:
    """What a GGUF file's own metadata says of its license (``general.license``, and for
    ``other`` its ``general.license.name`` / ``.link``)."""
    value = details.get("license")
    if not isinstance(value, str) or not value.strip():
        return []
    ev = _from_declared(kb, "gguf-metadata", value[:300])
    out = [Evidence(ev.source, ev.declared, ev.license_id, f"{path}: general.license" +
                    (f" ({ev.detail})" if ev.detail else ""))]
    if ev.license_id is None and value.strip().lower() == "other":
        card = {"license_name": details.get("license_name"), "license_link": details.get("license_link")}
        for e in _other(kb, card):
            out.append(Evidence("gguf-metadata", e.declared, e.license_id, f"{path}: general.license.name/.link"))
    return out


def file_evidence(path: str, text: str) -> list[Evidence]:
    """What one license-like file says: each license it holds, exactly or modified."""
    sha = text_sha256(text)
    found = identify_all(text)
    if not found:
        words = len(normalise(text))
        if words >= MIN_UNKNOWN_TEXT:
            # a license text of its own: its terms are unknown, whatever the card says
            return [Evidence("license-file", path, None,
                             f"{path}: a license text fmcat does not know ({words} words)", sha, unknown_text=True)]
        return [Evidence("license-file", path, None,
                         f"{path}: not identified as any license in the knowledge base (a short note)", sha)]
    out = []
    for item in found:
        if item.exact:
            out.append(Evidence("license-file", path, item.license_id, f"{path}: {item.summary()}", sha))
        else:
            shown = "; ".join(d.describe() for d in item.differences)
            if item.more_differences:
                shown += f"; and {item.more_differences} more"
            out.append(Evidence("license-file", path, None, f"{path}: {item.summary()}: {shown}", sha,
                                modified_from=item.license_id))
    return out


def resolve_license(
    card: dict | None = None,
    *,
    tags: list[str] | tuple[str, ...] = (),
    license_text: str | None = None,
    license_files: dict[str, str] | None = None,
    kb: KnowledgeBase | None = None,
    metadata: tuple[Evidence, ...] = (),
) -> LicenseResolution:
    """Decide a model's license from its card metadata, tags and license files.

    Every source is recorded as evidence. When sources name different
    licenses the most restrictive governs and the conflict is described; a
    license file that is a modified copy of a known license lets no license
    govern (the verdict is ``unknown`` until a person reads the differences).
    """
    from .decide import restrictiveness

    kb = kb or knowledge_base()
    card = card or {}
    files = dict(license_files or {})
    if license_text is not None:
        files.setdefault("LICENSE", license_text)
    evidence: list[Evidence] = []
    declared = card.get("license")
    values = declared if isinstance(declared, list) else [declared] if declared else []
    for value in values:
        ev = _from_declared(kb, "card", str(value))
        evidence.append(ev)
        if ev.license_id is None and str(value).lower() == "other":
            evidence += _other(kb, card)
    for tag in tags:
        if isinstance(tag, str) and tag.startswith("license:"):
            value = tag.split(":", 1)[1]
            if value not in values:
                evidence.append(_from_declared(kb, "tags", value))
    evidence += metadata  # what weights files say of themselves (GGUF general.license)
    sha = None
    for path, text in files.items():
        found = file_evidence(path, text)
        sha = sha or found[0].text_sha256
        evidence += found
    modified = [e for e in evidence if e.modified_from]
    if modified:
        doubt = ("modified license text: " + "; ".join(e.detail or "" for e in modified))[:1500]
        doubt += " — review the differences (`fmcat show`); the original's terms are not assumed"
        label = f"modified {modified[0].modified_from}"
        return LicenseResolution(None, label, "license-file", tuple(evidence), None, sha, doubt)
    strange = [e for e in evidence if e.unknown_text]
    if strange:
        doubt = ("unknown license text: " + "; ".join(e.detail or "" for e in strange))[:1500]
        doubt += " — a person must read it; what the card says is not assumed to govern"
        return LicenseResolution(None, "unknown license text", "license-file", tuple(evidence), None, sha, doubt)
    # a policy that accompanies a license (gpt-oss's usage policy beside Apache-2.0) adds to it
    supplements = sorted({e.license_id for e in evidence
                          if e.license_id and (lic := kb.get(e.license_id)) is not None and lic.supplement})
    named = [e for e in evidence if e.license_id and e.license_id not in supplements]
    if not named:
        if supplements:
            joined = " AND ".join(supplements)
            return LicenseResolution(joined, joined, "license-file", tuple(evidence), None, sha)
        first = evidence[0] if evidence else None
        return LicenseResolution(None, first.declared if first else None, first.source if first else None,
                                 tuple(evidence), None, sha)
    ids = {e.license_id for e in named}
    chosen = max(named, key=lambda e: restrictiveness(kb, e.license_id))
    conflict = None
    if len(ids) > 1:
        said = "; ".join(f"{e.source} says {e.license_id}"
                         + (f" ({e.declared})" if e.source == "license-file" else "") for e in named)
        conflict = f"{said}: the most restrictive, {chosen.license_id}, governs"
    governing = " AND ".join([chosen.license_id, *supplements]) if supplements else chosen.license_id
    return LicenseResolution(governing, chosen.declared, chosen.source, tuple(evidence), conflict, sha)
