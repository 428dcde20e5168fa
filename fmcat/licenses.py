"""The license knowledge base: ``catalog/licenses.yaml`` as typed records.

Spellings are normalised with ScanCode's ``license-expression`` library, fed
with the knowledge base's ids, SPDX ids, ScanCode LicenseRefs and aliases, so
``Apache-2.0``, ``apache license, version 2.0`` and ``apache-2.0`` are one key
and ``mit OR apache-2.0`` is a valid expression.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import InvalidInput
from .settings import package_data_dir
from .yamlio import load_yaml_file

CATEGORIES = ("commercial", "open-source", "custom", "unknown")
# Hub values that say "no license known" rather than naming one
UNKNOWN_IDS = frozenset({"unknown", "other", "none", "noassertion"})


EFFECTS = ("allowed", "conditional", "needs-permission", "prohibited")
USE_FLAGS = ("commercial", "non-commercial", "distribute", "modify", "serve", "train-other-models", "outputs-only")
# properties of the model itself that a rule may depend on (read from its task and architecture)
MODEL_PROPERTIES = ("multimodal",)


@dataclass(frozen=True)
class Clause:
    """Where a license says something: a section and a short quote.

    ``quoted`` is False for fmcat's own words about a license that has no text
    to quote (a family id, a provider's terms): they are never shown as a quote.
    """

    section: str
    text: str
    quoted: bool = True


@dataclass(frozen=True)
class Domain:
    """A field of use in the closed vocabulary, with the other words for it."""

    id: str
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One term: when it applies, its effect, the obligations it brings, its clause."""

    effect: str
    clause: Clause
    when: tuple[frozenset[str], ...] = ()  # all groups must hold; one flag per group
    unless: frozenset[str] = frozenset()  # none of these flags may hold
    mau_above: int | None = None
    revenue_above: int | None = None  # the licensee's annual revenue, USD
    regions: frozenset[str] = frozenset()  # the licensee is established in one of these regions
    model: frozenset[str] = frozenset()  # the model has these properties (e.g. multimodal)
    domains: frozenset[str] = frozenset()
    obligations: tuple[str, ...] = ()

    def check(self, use: Any, props: dict[str, bool | None], kb: "KnowledgeBase") -> bool | tuple[str, ...]:
        """False: the rule does not apply. True: it applies. A tuple: it applies unless
        these facts, which the use does not give, are confirmed (each as a sentence)."""
        flags = use.flags
        if any(not (group & flags) for group in self.when) or (self.unless & flags):
            return False
        if self.domains and not (self.domains & frozenset(use.domains)):
            return False
        unknown: list[str] = []
        for value, above, what in ((use.mau, self.mau_above, "monthly active users are at most {:,}"),
                                   (use.revenue, self.revenue_above, "annual revenue is at most USD {:,}")):
            if above is None:
                continue
            if value is None:
                unknown.append(what.format(above))
            elif value <= above:
                return False
        if self.regions:
            if use.region is None:
                where = " or ".join(sorted(r.upper() for r in self.regions))
                unknown.append(f"the licensee is not established in {where}")
            elif not any(kb.in_region(use.region, r) for r in self.regions):
                return False
        for prop in sorted(self.model):
            value = props.get(prop)
            if value is None:
                unknown.append(f"the model is not {prop}")
            elif not value:
                return False
        return tuple(unknown) if unknown else True


@dataclass(frozen=True)
class License:
    id: str
    name: str
    category: str
    url: str | None = None
    spdx: str | None = None
    scancode: str | None = None
    aliases: tuple[str, ...] = ()
    source: str | None = None
    texts: tuple[str, ...] = ()
    grant: Clause | None = None
    rules: tuple[Rule, ...] = ()
    links: tuple[str, ...] = ()  # URLs a card's license_link may give for this license
    family: bool = False  # an id that names a family of licenses, not one
    terms: bool = True  # False: recognised by name, but its terms are not in the knowledge base
    supplement: bool = False  # a policy that accompanies another license (it adds, never replaces)

    @property
    def restricted_domains(self) -> tuple[str, ...]:
        return tuple(sorted({d for r in self.rules for d in r.domains}))

    @property
    def spellings(self) -> tuple[str, ...]:
        return tuple(s for s in (self.spdx, self.scancode, *self.aliases) if s)


@dataclass(frozen=True)
class Resolved:
    """A declared license string, normalised."""

    declared: str
    license_id: str | None  # a knowledge-base id, or a normalised expression of ids
    category: str
    ids: tuple[str, ...] = ()


_LICENSE_KEYS = {"id", "name", "category", "url", "spdx", "scancode", "aliases", "source",
                 "texts", "grant", "rules", "links", "family", "terms", "supplement"}
_RULE_KEYS = {"when", "unless", "mau_above", "revenue_above", "regions", "model", "domains", "effect",
              "obligations", "clause", "text", "note"}
_DOMAIN_KEYS = {"description", "aliases"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def domain_key(word: str) -> str:
    """A domain word as the vocabulary spells it: lowercase, words joined by '-'."""
    return "-".join(re.split(r"[\s_/-]+", str(word).strip().lower())).strip("-")


class KnowledgeBase:
    def __init__(self, licenses: list[License], domains: dict[str, Domain] | None = None,
                 regions: dict[str, frozenset[str]] | None = None) -> None:
        self.licenses = {lic.id: lic for lic in licenses}
        self.domains = dict(domains or {})
        self.regions = dict(regions or {})
        self._links = {_link_key(url): lic.id for lic in licenses for url in (*lic.links, lic.url) if url}
        self._domain_words = {w: d.id for d in self.domains.values() for w in (d.id, *d.aliases)}
        self._resolved: dict[str, Resolved] = {}
        from license_expression import LicenseSymbol, Licensing

        self._licensing = Licensing(
            [LicenseSymbol(lic.id, aliases=lic.spellings) for lic in licenses]
        )

    def parse(self, expression: str):  # type: ignore[no-untyped-def]
        """A license-expression object for an expression of knowledge-base ids."""
        return self._licensing.parse(expression, validate=True, strict=False)

    def get(self, license_id: str) -> License | None:
        return self.licenses.get(license_id)

    def category_of(self, license_id: str | None) -> str:
        lic = self.licenses.get(license_id) if license_id else None
        return lic.category if lic else "unknown"

    def resolve(self, declared: str | None) -> Resolved | None:
        """Normalise ``declared``; None when empty; unknown ids raise InvalidInput."""
        if declared is None or not str(declared).strip():
            return None
        text = str(declared).strip()
        cached = self._resolved.get(text)
        if cached is None:
            cached = self._resolved[text] = self._resolve(text)
        return cached

    def _resolve(self, text: str) -> Resolved:
        if text.lower() in UNKNOWN_IDS:
            return Resolved(text, None, "unknown")
        from license_expression import ExpressionError

        try:
            expr = self._licensing.parse(text, validate=True, strict=False)
        except ExpressionError as exc:
            unknown = self._unknown_keys(text)
            if unknown:
                hint = self.suggest(unknown[0])
                raise InvalidInput(
                    f"unknown license {unknown[0]!r}",
                    hint=(f"did you mean {hint!r}? " if hint else "")
                    + "see `fmcat licenses` for the known ids",
                    license=text,
                ) from None
            raise InvalidInput(f"malformed license expression {text!r}: {exc}", license=text) from None
        ids = tuple(sorted({str(s.key) for s in self._licensing.license_symbols(expr)}))
        cats = {self.licenses[i].category for i in ids}
        category = cats.pop() if len(cats) == 1 else "custom"
        return Resolved(text, str(expr), category, ids)

    def _unknown_keys(self, text: str) -> list[str]:
        try:
            expr = self._licensing.parse(text, validate=False)
        except Exception:  # noqa: BLE001 - a syntax error: no keys to report
            return []
        return self._licensing.unknown_license_keys(expr) if expr is not None else []

    def domain(self, word: str, where: str = "--domain") -> str:
        """The canonical domain for ``word`` (an id or an alias); unknown words are refused."""
        key = domain_key(word)
        found = self._domain_words.get(key)
        if found is not None:
            return found
        close = difflib.get_close_matches(key, list(self._domain_words), n=1, cutoff=0.6)
        shown = "".join(c if c.isprintable() else "?" for c in str(word))[:40]
        raise InvalidInput(
            f"{where}: unknown domain {shown!r}",
            hint=(f"did you mean {self._domain_words[close[0]]!r}? " if close else "")
            + "`fmcat licenses --domains` lists the vocabulary",
        )

    def domains_of(self, words: Any, where: str = "--domain") -> tuple[str, ...]:
        """Canonical domains for several words, in order, without repeats."""
        return tuple(dict.fromkeys(self.domain(w, where) for w in words))

    def region(self, word: str, where: str = "--region") -> str:
        """A licensee's region: a region id of the knowledge base (``eu``) or an ISO 3166
        two-letter country code; anything else is refused."""
        key = str(word).strip().lower()
        if key in self.regions or re.fullmatch(r"[a-z]{2}", key):
            return key
        shown = "".join(c if c.isprintable() else "?" for c in str(word))[:40]
        raise InvalidInput(f"{where}: {shown!r} is not a region",
                           hint="give a two-letter country code (de, us, cn) or " + ", ".join(sorted(self.regions)))

    def in_region(self, region: str, group: str) -> bool:
        return region == group or region in self.regions.get(group, frozenset())

    def license_for_link(self, link: str | None) -> str | None:
        """The knowledge-base license a card's license_link points to, if it is a known URL."""
        return self._links.get(_link_key(link)) if link else None

    def suggest(self, text: str) -> str | None:
        spellings = {s.lower(): lic.id for lic in self.licenses.values() for s in (lic.id, *lic.spellings)}
        match = difflib.get_close_matches(text.lower(), list(spellings), n=1, cutoff=0.75)
        return spellings[match[0]] if match else None


def _link_key(url: str) -> str:
    text = str(url).strip().lower()
    for prefix in ("https://", "http://", "www."):
        text = text.removeprefix(prefix)
    return text.rstrip("/")


def _flag_groups(items: Any, where: str) -> list[frozenset[str]]:
    groups = []
    for item in items or ():
        group = frozenset([item] if isinstance(item, str) else item)
        if not group or not group <= set(USE_FLAGS):
            raise InvalidInput(f"{where}: unknown use flag in {item!r}; flags: {', '.join(USE_FLAGS)}")
        groups.append(group)
    return groups


def _parse_rule(raw: Any, where: str, domains: dict[str, str], regions: dict[str, Any] | None = None) -> Rule:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: each rule must be a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise InvalidInput(f"{where}: unknown rule keys {sorted(unknown)}")
    if raw.get("effect") not in EFFECTS:
        raise InvalidInput(f"{where}: rule effect must be one of {', '.join(EFFECTS)}")
    groups = _flag_groups(raw.get("when"), where)
    unless = frozenset().union(*_flag_groups(raw.get("unless"), where))
    rule_regions = frozenset(raw.get("regions") or ())
    if not rule_regions <= set(regions or {}):
        raise InvalidInput(f"{where}: undeclared regions {sorted(rule_regions - set(regions or {}))}")
    model = frozenset(raw.get("model") or ())
    if not model <= set(MODEL_PROPERTIES):
        raise InvalidInput(f"{where}: unknown model properties {sorted(model - set(MODEL_PROPERTIES))}")
    revenue = raw.get("revenue_above")
    if revenue is not None and (not isinstance(revenue, int) or revenue < 0):
        raise InvalidInput(f"{where}: revenue_above must be a non-negative integer")
    rule_domains = frozenset(raw.get("domains") or ())
    if not rule_domains <= set(domains):
        raise InvalidInput(f"{where}: undeclared domains {sorted(rule_domains - set(domains))}")
    mau = raw.get("mau_above")
    if mau is not None and (not isinstance(mau, int) or mau < 0):
        raise InvalidInput(f"{where}: mau_above must be a non-negative integer")
    if not raw.get("clause") or bool(raw.get("text")) == bool(raw.get("note")):
        raise InvalidInput(f"{where}: every rule cites a clause and either quotes its text or, "
                           "for a license with no text, gives a note")
    return Rule(
        effect=raw["effect"],
        clause=_clause(raw),
        when=tuple(groups),
        unless=unless,
        mau_above=mau,
        revenue_above=revenue,
        regions=rule_regions,
        model=model,
        domains=rule_domains,
        obligations=tuple(str(o) for o in raw.get("obligations") or ()),
    )


def _clause(raw: dict[str, Any]) -> Clause:
    quoted = bool(raw.get("text"))
    return Clause(str(raw["clause"]), " ".join(str(raw["text"] if quoted else raw["note"]).split()), quoted)


def _parse_domains(raw: Any, where: str) -> dict[str, Domain]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: domains must map ids to a description and aliases")
    out: dict[str, Domain] = {}
    seen: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, dict) or set(value) - _DOMAIN_KEYS or not value.get("description"):
            raise InvalidInput(f"{where}: domain {key!r} needs a description and may list aliases")
        aliases = tuple(str(a) for a in value.get("aliases") or ())
        for word in (key, *aliases):
            if not _SLUG.match(word) or domain_key(word) != word:
                raise InvalidInput(f"{where}: domain word {word!r} must be a lowercase slug")
            if word in seen:
                raise InvalidInput(f"{where}: domain word {word!r} is used by {seen[word]!r} and {key!r}")
            seen[word] = key
        out[key] = Domain(key, str(value["description"]), aliases)
    return out


def _parse_license(raw: Any, where: str, domains: dict[str, Domain] | None = None,
                   regions: dict[str, Any] | None = None) -> License:
    if not isinstance(raw, dict) or "id" not in raw:
        raise InvalidInput(f"{where}: each license needs an id")
    unknown = set(raw) - _LICENSE_KEYS
    if unknown:
        raise InvalidInput(f"{where}: unknown keys {sorted(unknown)} in license {raw['id']!r}")
    if raw.get("category") not in CATEGORIES[:3]:
        raise InvalidInput(f"{where}: license {raw['id']!r} has no valid category")
    here = f"{where}: license {raw['id']}"
    grant = raw.get("grant")
    if grant is not None and not (isinstance(grant, dict) and grant.get("clause")
                                  and bool(grant.get("text")) != bool(grant.get("note"))):
        raise InvalidInput(f"{here}: grant needs a clause and a text (or a note)")
    return License(
        id=str(raw["id"]),
        name=str(raw.get("name") or raw["id"]),
        category=raw["category"],
        url=raw.get("url"),
        spdx=raw.get("spdx"),
        scancode=raw.get("scancode"),
        aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        source=raw.get("source"),
        texts=tuple(str(t) for t in raw.get("texts") or ()),
        grant=_clause(grant) if grant else None,
        rules=tuple(_parse_rule(r, here, domains or {}, regions) for r in raw.get("rules") or ()),
        links=tuple(str(u) for u in raw.get("links") or ()),
        family=bool(raw.get("family", False)),
        terms=bool(raw.get("terms", True)),
        supplement=bool(raw.get("supplement", False)),
    )


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    path = package_data_dir("catalog") / "licenses.yaml"
    data = _parsed_yaml(path)
    items = data.get("licenses") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"{path}: expected a 'licenses' list")
    domains = _parse_domains(data.get("domains") or {}, str(path))
    regions = _parse_regions(data.get("regions") or {}, str(path))
    return KnowledgeBase([_parse_license(item, str(path), domains, regions) for item in items], domains, regions)


def _parsed_yaml(path: Any) -> Any:
    """``licenses.yaml`` as plain data, from a JSON copy in the cache directory keyed by
    the file's SHA-256 (JSON loads ~30x faster than YAML parses; every command needs
    the knowledge base). The copy is only ever plain data: no objects are built from it
    that the YAML itself would not give, and a missing or damaged copy is rebuilt."""
    import hashlib
    import json
    import os

    from .settings import cache_dir

    raw = path.read_bytes()
    cached = cache_dir() / f"licenses-{hashlib.sha256(raw).hexdigest()[:32]}.json"
    try:
        return json.loads(cached.read_bytes())
    except (OSError, ValueError):
        pass
    data = load_yaml_file(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data)
        if json.loads(text) == data:  # only data JSON keeps as it is (string keys, no dates)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(cached)
    except (OSError, TypeError, ValueError):
        pass  # a read-only cache: parse the YAML each time
    return data


def _parse_regions(raw: Any, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: regions must map ids to their member country codes")
    out = {}
    for key, value in raw.items():
        members = value.get("members") if isinstance(value, dict) else None
        if not isinstance(members, list) or not all(isinstance(m, str) and re.fullmatch(r"[a-z]{2}", m)
                                                    for m in members):
            raise InvalidInput(f"{where}: region {key!r} needs a list of two-letter country codes")
        out[str(key)] = frozenset(members)
    return out
