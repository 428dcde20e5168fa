"""The scan: walk the paths, extract references, group them by model and decide
each against the catalog exactly as ``check-license`` would."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .refs import API, HUB, LOCAL, OLLAMA, PROVIDERS, UNRESOLVED, Location, Reference
from .walk import Note, SourceFile, read_text, walk


@dataclass
class ScanResult:
    references: list[Reference]
    notes: list[Note]
    files: int  # files read
    seconds: float


def scan_paths(paths: list[str], *, excludes: tuple[str, ...] = ()) -> ScanResult:
    """Every model reference under ``paths``, with a note for each file skipped or read by the fallback."""
    from .python import ModuleIndex, candidate_lines, scan_python
    from .text import (
        scan_env,
        scan_json,
        scan_notebook,
        scan_shell,
        scan_toml,
        scan_yaml,
    )

    t0 = time.perf_counter()
    notes: list[Note] = []
    files: list[SourceFile] = []
    for item in walk(paths, excludes):
        if isinstance(item, Note):
            notes.append(item)
        else:
            files.append(item)
    index = ModuleIndex(lambda path: read_text(path, "python")[0])  # a module is read again only when imported from
    for f in files:
        if f.kind == "python":
            index.add(list(f.module), f.path)
    by_kind: dict[str, Callable[..., tuple[list[Reference], str | None]]] = {
        "yaml": scan_yaml, "json": scan_json, "toml": scan_toml, "env": scan_env, "shell": scan_shell,
    }
    refs: list[Reference] = []
    for f in files:
        text, note = read_text(f.path, f.kind)
        if text is None:
            notes.append(Note(f.display, note or "skipped"))
            continue
        if note:
            notes.append(Note(f.display, note))
        if f.kind == "python":
            lines = candidate_lines(text)
            if not lines:
                continue
            found, note = scan_python(text, f.display, ".".join(f.module), index, lines=lines)
        elif f.kind == "notebook":
            found, note = scan_notebook(text, f.display, index)
        else:
            found, note = by_kind[f.kind](text, f.display)
        if note:
            notes.append(Note(f.display, note))
        refs += found
    return ScanResult(refs, notes, len(files), time.perf_counter() - t0)


@dataclass
class Finding:
    """One model (or one unresolved expression) with every place that references it."""

    kind: str
    model: str
    provider: str | None = None
    revisions: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    why: str | None = None  # unresolved: what stopped resolution
    catalog_name: str | None = None
    decision: Any = None  # ModelDecision, None for unresolved references

    @property
    def verdict(self) -> str:
        return "unresolved" if self.kind == UNRESOLVED else self.decision.verdict

    @property
    def failing(self) -> bool:
        return self.kind == UNRESOLVED or bool(self.decision and self.decision.failing)

    def to_dict(self) -> dict[str, Any]:
        d = self.decision.to_dict() if self.decision is not None else {}
        return {
            "model": self.model if self.kind != UNRESOLVED else None,
            "kind": self.kind,
            "provider": PROVIDERS[self.provider]["name"] if self.provider in PROVIDERS else None,
            "revisions": list(self.revisions),
            "expression": self.model if self.kind == UNRESOLVED else None,
            "why": self.why,
            "in_catalog": self.catalog_name is not None,
            "catalog_name": self.catalog_name,
            "verdict": self.verdict,
            "license": d.get("license"),
            "category": d.get("category"),
            "obligations": d.get("obligations", []),
            "reasons": d.get("reasons", []),
            "flags": d.get("flags", []),
            "lineage": d.get("lineage", []),
            "violations": d.get("violations", []),
            "waiver": d.get("waiver"),
            "locations": [loc.to_dict() for loc in self.locations],
        }


def group(refs: list[Reference]) -> list[Finding]:
    """References grouped by model (Hub ids compare as the catalog compares them)."""
    from ..entries import model_key

    groups: dict[tuple[str, str], Finding] = {}
    for r in refs:
        if r.kind == HUB:
            key = (HUB, model_key(r.model))
        elif r.kind == UNRESOLVED:
            key = (UNRESOLVED, f"{r.model}\0{r.why}")
        else:
            key = (r.kind, r.model.lower())
        f = groups.get(key)
        if f is None:
            f = groups[key] = Finding(r.kind, r.model, r.provider, why=r.why)
        if r.revision and r.revision not in f.revisions:
            f.revisions.append(r.revision)
        if r.location not in f.locations:
            f.locations.append(r.location)
    order = {HUB: 0, API: 1, OLLAMA: 2, LOCAL: 3, UNRESOLVED: 4}
    return sorted(groups.values(), key=lambda f: (order.get(f.kind, 9), f.model.lower()))


def decide_findings(session: Any, findings: list[Finding], use: Any, policy: Any = None,
                    *, now: dt.datetime | None = None) -> list[Any]:
    """Each finding's decision as check-license gives it; models not in the catalog are
    ``unknown``. Returns the policy's waivers that matched no catalog model."""
    from ..checks import load_facts
    from ..decide import Decider, decide_model
    from ..entries import model_key
    from ..licenses import knowledge_base
    from ..policy import apply_policy, unmatched_waivers

    need_runs = bool(policy and (policy.rules.require_verified or policy.rules.require_smoke_test))
    _, _, index, aliases = load_facts(session, need_runs=need_runs)
    decider = Decider(knowledge_base(), use)
    now = now or dt.datetime.now(dt.UTC)
    for f in findings:
        if f.kind == UNRESOLVED:
            continue
        facts = None
        if f.kind in (HUB, API):
            facts = index.get(model_key(f.model))
        elif f.kind == OLLAMA:
            facts = index.get(model_key(f"ollama/{f.model}"))
        if facts is None:
            f.decision = _not_in_catalog(f)
            continue
        f.catalog_name = facts.name
        d = decide_model(facts, decider, index)
        if policy is not None:
            d = apply_policy(d, facts, policy, now, aliases[facts.name])
        f.decision = d
    return unmatched_waivers(policy, set().union(*aliases.values())) if policy else []


def _not_in_catalog(f: Finding) -> Any:
    from ..decide import ModelDecision, Reason

    if f.kind == LOCAL:
        why = ("a local path: which model it holds is not known to the catalog; "
               "register the folder with `fmcat add PATH`")
    elif f.kind == API and f.provider is None:
        why = f"a hosted model whose provider is not known: `fmcat add --api-only --provider P {f.model}`"
    elif f.kind == API:
        why = f"not in the catalog: `fmcat add --api-only --provider {PROVIDERS[f.provider]['name']!r} {f.model}`"
    elif f.kind == OLLAMA:
        why = (f"an Ollama library model, not in the catalog as ollama/{f.model}: Ollama's library is not a "
               "source fmcat reads; record it with `fmcat import` and its license")
    else:
        pinned = f"@{f.revisions[0]}" if len(f.revisions) == 1 else ""
        why = f"not in the catalog: `fmcat add {f.model}{pinned}`"
    return ModelDecision(model=f.model, display_name=None, license=None, category="unknown", verdict="unknown",
                         obligations=[], reasons=[Reason("catalog", why, "unknown", False)])
