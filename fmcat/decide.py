"""License decisions: for an intended use, the verdict a license gives, what
must be done, and the clause behind each part.

The terms come from the knowledge base (``catalog/licenses.yaml``); this module
interprets them generically. A license expression is decided by its parts:
``A OR B`` lets the licensee pick the better, ``A AND B`` needs both.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .entries import model_key
from .errors import InvalidInput
from .licenses import KnowledgeBase, License

VERDICTS = ("allowed", "conditional", "needs-permission", "prohibited", "unknown")
FAILING = frozenset({"needs-permission", "prohibited", "unknown"})
_RANK = {v: i for i, v in enumerate(VERDICTS)}
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def worst(*verdicts: str) -> str:
    return max(verdicts, key=_RANK.__getitem__) if verdicts else "allowed"


def best(*verdicts: str) -> str:
    return min(verdicts, key=_RANK.__getitem__)


@dataclass(frozen=True)
class Use:
    """The intended use that a decision is made for."""

    commercial: bool = True
    mau: int | None = None
    distribute: bool = False
    modify: bool = False
    serve: bool = False
    train_other_models: bool = False
    domains: tuple[str, ...] = ()
    revenue: int | None = None  # the licensee's annual revenue, USD
    region: str | None = None  # where the licensee is established: a country code or a region id (eu)
    outputs_only: bool = False  # the product uses only the model's outputs, not the model

    def __post_init__(self) -> None:
        if self.mau is not None and (isinstance(self.mau, bool) or not isinstance(self.mau, int) or self.mau < 0):
            raise InvalidInput(f"monthly active users must be a whole number >= 0, not {self.mau!r}")
        if self.mau is not None and self.mau > 10**11:
            raise InvalidInput(f"monthly active users {self.mau} is more than there are people")
        if self.revenue is not None and (isinstance(self.revenue, bool) or not isinstance(self.revenue, int)
                                         or not 0 <= self.revenue <= 10**15):
            raise InvalidInput(f"annual revenue must be a whole number of USD >= 0, not {self.revenue!r}")
        for d in self.domains:
            if not isinstance(d, str) or not _DOMAIN.match(d):
                raise InvalidInput(f"domain {str(d)[:40]!r} must be a lowercase slug such as 'medical'")

    @property
    def flags(self) -> frozenset[str]:
        out = {"commercial" if self.commercial else "non-commercial"}
        for name in ("distribute", "modify", "serve"):
            if getattr(self, name):
                out.add(name)
        if self.train_other_models:
            out.add("train-other-models")
        if self.outputs_only:
            out.add("outputs-only")
        return frozenset(out)

    def describe(self) -> str:
        parts = ["commercial" if self.commercial else "non-commercial"]
        if self.mau is not None:
            parts.append(f"{self.mau:,} monthly active users")
        parts += [f for f in ("distribute", "modify", "serve") if getattr(self, f)]
        if self.train_other_models:
            parts.append("train other models")
        if self.domains:
            parts.append("domains: " + ", ".join(self.domains))
        if self.revenue is not None:
            parts.append(f"annual revenue USD {self.revenue:,}")
        if self.region is not None:
            parts.append(f"licensee in {self.region.upper()}")
        if self.outputs_only:
            parts.append("outputs only")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "commercial": self.commercial, "mau": self.mau, "distribute": self.distribute,
            "modify": self.modify, "serve": self.serve,
            "train-other-models": self.train_other_models, "domains": list(self.domains),
            "revenue": self.revenue, "region": self.region, "outputs-only": self.outputs_only,
        }


@dataclass(frozen=True)
class Reason:
    clause: str
    text: str
    verdict: str
    quoted: bool = True  # False: fmcat's own words (a note, an unknown), never shown as a quote

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LicenseDecision:
    license: str | None
    verdict: str
    obligations: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()


def _decide_one(lic: License, use: Use, props: dict[str, bool | None], kb: KnowledgeBase) -> LicenseDecision:
    if lic.family:
        note = lic.grant.text if lic.grant else f"{lic.id} names a family of licenses, not one"
        return LicenseDecision(lic.id, "unknown", (), (Reason(
            f"{lic.name}: a license family",
            f"{note}: the verdict depends on which one applies; read the model's own license text "
            "(its LICENSE file) and record it with `fmcat add --license ID`.", "unknown", False),))
    if not lic.terms:
        return LicenseDecision(lic.id, "unknown", (), (Reason(
            f"{lic.name}: terms not in the knowledge base",
            f"{lic.name} is recognised, but its terms are not in fmcat's knowledge base (no text of it is "
            "shipped): a person must read it; it is never silently allowed.", "unknown", False),))
    reasons: list[Reason] = []
    obligations: list[str] = []
    verdicts: list[str] = []
    for rule in lic.rules:
        found = rule.check(use, props, kb)
        if found is False:
            continue
        quote = Reason(f"{lic.name} {rule.clause.section}", rule.clause.text, rule.effect, rule.clause.quoted)
        if found is True:
            verdicts.append(rule.effect)
            reasons.append(quote)
            obligations += [o for o in rule.obligations if o not in obligations]
            continue
        # a threshold or fact the use does not give: never assume the better case
        effect = "conditional"
        confirm = f"Confirm that {' and '.join(found)}: otherwise {rule.effect} ({rule.clause.section})"
        verdicts.append(effect)
        reasons.append(Reason(quote.clause, quote.text, effect, quote.quoted))
        obligations += [o for o in (confirm, *rule.obligations) if o not in obligations]
    if not verdicts:
        grant = lic.grant
        reasons = [Reason(f"{lic.name} {grant.section}" if grant else lic.name,
                          grant.text if grant else "no term of this license restricts the use", "allowed",
                          grant.quoted if grant else False)]
    verdict = worst(*verdicts) if verdicts else "allowed"
    reasons.sort(key=lambda r: -_RANK[r.verdict])
    return LicenseDecision(lic.id, verdict, tuple(obligations), tuple(reasons))


class Decider:
    """Decides license expressions for one use, caching per expression and model properties."""

    def __init__(self, kb: KnowledgeBase, use: Use) -> None:
        self.kb = kb
        self.use = use
        self._cache: dict[tuple[str | None, tuple[tuple[str, bool | None], ...]], LicenseDecision] = {}

    def decide(self, license_expr: str | None, props: dict[str, bool | None] | None = None) -> LicenseDecision:
        key = (license_expr, tuple(sorted((props or {}).items())))
        if key in self._cache:
            return self._cache[key]
        result = self._decide(license_expr, props or {})
        self._cache[key] = result
        return result

    def _decide(self, license_expr: str | None, props: dict[str, bool | None]) -> LicenseDecision:
        if not license_expr:
            return LicenseDecision(None, "unknown", (), (Reason(
                "no license", "No license is recorded for this model; it is never silently allowed.", "unknown", False),))
        lic = self.kb.get(license_expr)
        if lic is not None:
            return _decide_one(lic, self.use, props, self.kb)
        try:
            resolved = self.kb.resolve(license_expr)
        except InvalidInput:
            resolved = None
        if resolved is None or resolved.license_id is None:
            return LicenseDecision(license_expr, "unknown", (), (Reason(
                "unknown license",
                f"{license_expr!r} is not in fmcat's license knowledge base; a person must read it.",
                "unknown", False),))
        if resolved.license_id in self.kb.licenses:
            return _decide_one(self.kb.licenses[resolved.license_id], self.use, props, self.kb)
        return self._expression(self.kb.parse(resolved.license_id), resolved.license_id, props)

    def _expression(self, expr: Any, text: str, props: dict[str, bool | None]) -> LicenseDecision:
        from license_expression import AND, OR

        if isinstance(expr, (AND, OR)):
            parts = [self._expression(arg, str(arg), props) for arg in expr.args]
            if isinstance(expr, OR):
                chosen = min(parts, key=lambda d: _RANK[d.verdict])
                note = Reason(f"{text}", f"a choice of licenses: the best option, {chosen.license}, is taken",
                              chosen.verdict, False)
                elect = f"Elect to use the model under {chosen.license} (the license offers a choice: {text})"
                return LicenseDecision(text, chosen.verdict, (elect, *chosen.obligations), (note, *chosen.reasons))
            obligations: list[str] = []
            for p in parts:
                obligations += [o for o in p.obligations if o not in obligations]
            reasons = tuple(r for p in parts for r in p.reasons)
            return LicenseDecision(text, worst(*(p.verdict for p in parts)), tuple(obligations), reasons)
        return self.decide(str(expr.key) if hasattr(expr, "key") else str(expr), props)


# tasks and architecture words that make a model multimodal (or plainly text-only)
MULTIMODAL_TASKS = frozenset({
    "image-text-to-text", "visual-question-answering", "image-to-text", "document-question-answering",
    "video-text-to-text", "any-to-any", "audio-text-to-text", "visual-document-retrieval",
})
TEXT_TASKS = frozenset({
    "text-generation", "text2text-generation", "fill-mask", "feature-extraction", "sentence-similarity",
    "summarization", "translation", "question-answering", "text-classification", "token-classification",
    "zero-shot-classification", "table-question-answering", "text-ranking",
})
_MULTIMODAL_ARCH = re.compile(r"vision|mllama|llava|imagetexttotext|vl(?:m|chat)?for|paligemma|idefics|blip", re.I)


def multimodal(task: str | None, architecture: str | None) -> bool | None:
    """Whether a model is multimodal, from what its card and config say; None when they
    do not say (a rule that depends on it then asks to confirm)."""
    if (task and task in MULTIMODAL_TASKS) or (architecture and _MULTIMODAL_ARCH.search(architecture)):
        return True
    if task in TEXT_TASKS or (architecture and architecture.endswith(("ForCausalLM", "LMHeadModel", "ForMaskedLM"))):
        return False
    return None


@dataclass(frozen=True)
class ModelFacts:
    """What a decision needs to know about one catalog entry."""

    name: str
    display_name: str | None
    license: str | None
    category: str
    base_models: tuple[str, ...] = ()
    verified: str | None = None  # status of the latest verification
    smoke_tested: str | None = None  # status of the latest smoke test
    conflict: str | None = None  # a license conflict noted when the license was resolved
    doubt: str | None = None  # why the recorded license cannot be trusted (e.g. a modified text)
    multimodal: bool | None = None  # None: the catalog does not say

    @property
    def props(self) -> dict[str, bool | None]:
        return {"multimodal": self.multimodal}


@dataclass(frozen=True)
class ModelDecision:
    model: str
    display_name: str | None
    license: str | None
    category: str
    verdict: str
    obligations: list[str]
    reasons: list[Reason]
    flags: list[str] = field(default_factory=list)
    lineage: list[str] = field(default_factory=list)
    license_verdict: str | None = None  # before policy and waivers
    violations: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING or bool(self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "display_name": self.display_name,
            "license": self.license,
            "category": self.category,
            "verdict": self.verdict,
            "obligations": list(self.obligations),
            "reasons": [r.to_dict() for r in self.reasons],
            "flags": list(self.flags),
            "lineage": list(self.lineage),
            "license_verdict": self.license_verdict,
            "violations": list(self.violations),
            "waiver": self.waiver,
        }


MAX_LINEAGE = 20


def _own(facts: ModelFacts, decider: Decider) -> LicenseDecision:
    if facts.doubt:
        return LicenseDecision(facts.license, "unknown", (), (Reason("license text", facts.doubt, "unknown", False),))
    return decider.decide(facts.license, facts.props)


def decide_model(
    facts: ModelFacts,
    decider: Decider,
    index: dict[str, ModelFacts],
) -> ModelDecision:
    """The license verdict for one model, following every base model through the
    catalog (``index`` is keyed by ``model_key``). A base that is not in the
    catalog makes the verdict ``unknown``: its terms cannot be followed."""
    own = _own(facts, decider)
    verdict = own.verdict
    obligations = list(own.obligations)
    reasons = list(own.reasons)
    flags: list[str] = []
    lineage: list[str] = []
    if facts.conflict:
        flags.append(f"license conflict: {facts.conflict}")

    seen = {model_key(facts.name)}
    queue = [(facts, ref) for ref in facts.base_models]
    while queue:
        child, ref = queue.pop(0)
        base = index.get(model_key(ref))
        if base is None:
            flags.append(f"unresolved base model: {ref} (add it with `fmcat add {ref}`)")
            reasons.append(Reason(
                f"base model {ref}",
                f"{child.name} is derived from {ref}, which is not in the catalog: its license terms "
                "cannot be followed, so the verdict cannot be better than unknown.", "unknown", False))
            verdict = worst(verdict, "unknown")
            continue
        key = model_key(base.name)
        if key in seen:
            continue
        if len(lineage) >= MAX_LINEAGE:
            flags.append(f"lineage longer than {MAX_LINEAGE} models: not followed past {lineage[-1]}")
            verdict = worst(verdict, "unknown")
            break
        seen.add(key)
        lineage.append(base.name)
        inherited = _own(base, decider)
        if inherited.license and inherited.license != child.license and _looser(decider.kb, child, base):
            flags.append(
                f"relicensed: {child.name} declares {child.license or 'no license'} but its base model "
                f"{base.name} is under {base.license}; the base's terms still apply"
            )
        verdict = worst(verdict, inherited.verdict)
        obligations += [o for o in inherited.obligations if o not in obligations]
        reasons += [Reason(f"base model {base.name}: {r.clause}", r.text, r.verdict, r.quoted)
                    for r in inherited.reasons]
        queue += [(base, b) for b in base.base_models]
    reasons.sort(key=lambda r: -_RANK[r.verdict])
    return ModelDecision(
        model=facts.name, display_name=facts.display_name, license=facts.license,
        category=facts.category, verdict=verdict, obligations=obligations, reasons=reasons,
        flags=flags, lineage=lineage, license_verdict=verdict,
    )


def _looser(kb: KnowledgeBase, child: ModelFacts, base: ModelFacts) -> bool:
    """A derivative declared under terms looser than its base's (e.g. llama2 -> mit)."""
    order = {"open-source": 0, "commercial": 1, "custom": 2, "unknown": 1}
    return order.get(child.category, 1) < order.get(kb.category_of(base.license) if base.license else "unknown", 1)


def restrictiveness(kb: KnowledgeBase, license_expr: str | None) -> tuple[int, int]:
    """How restrictive a license is, for picking the most restrictive of conflicting
    sources: its verdict for the broadest use, then its category."""
    broad = Use(commercial=True, mau=10**9, distribute=True, modify=True, serve=True, train_other_models=True,
                revenue=10**12)
    verdict = Decider(kb, broad).decide(license_expr).verdict
    category_rank = {"open-source": 0, "commercial": 1, "custom": 2, "unknown": 3}
    return _RANK[verdict], category_rank.get(kb.category_of(license_expr), 3)
