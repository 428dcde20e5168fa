"""Organisation policy files (TOML): the intended use, rules and waivers.

    [use]        commercial, mau, distribute, modify, serve, train-other-models, domains,
                 revenue, region, outputs-only
    [rules]      allow-categories, deny-licenses, require-verified, require-smoke-test
    [[waivers]]  model, verdict, reason, approver, expires

Every key is checked: an unknown key, a wrong type, a negative MAU or a
waiver without an expiry date is an error naming the problem.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .decide import VERDICTS, ModelDecision, ModelFacts, Use
from .errors import InvalidInput
from .licenses import CATEGORIES

_USE_KEYS = {"commercial", "mau", "distribute", "modify", "serve", "train-other-models", "domains",
             "revenue", "region", "outputs-only"}
_RULE_KEYS = {"allow-categories", "deny-licenses", "require-verified", "require-smoke-test"}
_WAIVER_KEYS = {"model", "verdict", "reason", "approver", "expires"}
MAX_POLICY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Waiver:
    model: str
    verdict: str
    reason: str
    approver: str
    expires: dt.datetime  # the instant it stops applying (aware, UTC)
    expires_as_written: str

    def matches(self, keys: set[str]) -> bool:
        """Whether the waiver names this model: its catalog name or repo id, any case."""
        return self.model.lower() in keys

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "verdict": self.verdict, "reason": self.reason,
                "approver": self.approver, "expires": self.expires_as_written}


def _expiry(value: Any, where: str) -> tuple[dt.datetime, str]:
    """A waiver's ``expires``: a date (it applies to the end of that day, UTC) or an
    RFC 3339 date-time with an offset (compared as an instant)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{where}: expires {value.isoformat()} has no UTC offset",
                               hint="write a date (2027-06-30) or a date-time with an offset (2027-06-30T18:00:00Z)")
        return value.astimezone(dt.timezone.utc), value.isoformat()
    if isinstance(value, dt.date):
        end = dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        return end, value.isoformat()
    raise InvalidInput(f"{where}: expires must be a date such as 2027-06-30")


@dataclass(frozen=True)
class Rules:
    allow_categories: tuple[str, ...] | None = None
    deny_licenses: tuple[str, ...] = ()
    require_verified: bool = False
    require_smoke_test: bool = False


@dataclass(frozen=True)
class Policy:
    path: str | None
    use: dict[str, Any] = field(default_factory=dict)  # only the keys the file sets
    rules: Rules = Rules()
    waivers: tuple[Waiver, ...] = ()


def _bool(section: dict[str, Any], key: str, where: str) -> bool | None:
    if key not in section:
        return None
    value = section[key]
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: {key} must be true or false")
    return value


def _str_list(section: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in section:
        return None
    value = section[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _check_keys(section: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise InvalidInput(f"{where} must be a table")
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(sorted(allowed))}")
    return section


def parse_policy(text: str, where: str) -> Policy:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{where}: malformed TOML: {exc}", path=where) from None
    except RecursionError:
        raise InvalidInput(f"{where}: TOML nested too deeply", path=where) from None
    unknown = sorted(set(data) - {"use", "rules", "waivers"})
    if unknown:
        raise InvalidInput(f"{where}: unknown section [{unknown[0]}]", hint="sections: [use], [rules], [[waivers]]")

    use_raw = _check_keys(data.get("use", {}), _USE_KEYS, f"{where} [use]")
    use: dict[str, Any] = {}
    for key in ("commercial", "distribute", "modify", "serve", "train-other-models", "outputs-only"):
        value = _bool(use_raw, key, f"{where} [use]")
        if value is not None:
            use[key] = value
    if "mau" in use_raw:
        mau = use_raw["mau"]
        if isinstance(mau, bool) or not isinstance(mau, int):
            raise InvalidInput(f"{where} [use]: mau must be a whole number")
        if mau < 0:
            raise InvalidInput(f"{where} [use]: mau must not be negative (got {mau})")
        use["mau"] = mau
    domains = _str_list(use_raw, "domains", f"{where} [use]")
    if domains is not None:
        from .licenses import knowledge_base

        use["domains"] = knowledge_base().domains_of(domains, f"{where} [use] domains")
    if "revenue" in use_raw:
        revenue = use_raw["revenue"]
        if isinstance(revenue, bool) or not isinstance(revenue, int) or revenue < 0:
            raise InvalidInput(f"{where} [use]: revenue must be a whole number of USD >= 0")
        use["revenue"] = revenue
    if "region" in use_raw:
        from .licenses import knowledge_base

        if not isinstance(use_raw["region"], str):
            raise InvalidInput(f"{where} [use]: region must be a country code or region id, e.g. \"de\" or \"eu\"")
        use["region"] = knowledge_base().region(use_raw["region"], f"{where} [use] region")
    # validate the use values the same way the command line's are validated
    Use(mau=use.get("mau"), domains=tuple(use.get("domains", ())), revenue=use.get("revenue"))

    rules_raw = _check_keys(data.get("rules", {}), _RULE_KEYS, f"{where} [rules]")
    allow = _str_list(rules_raw, "allow-categories", f"{where} [rules]")
    if allow is not None:
        bad = [c for c in allow if c not in CATEGORIES]
        if bad:
            raise InvalidInput(f"{where} [rules]: unknown category {bad[0]!r}; categories: {', '.join(CATEGORIES)}")
    deny = _str_list(rules_raw, "deny-licenses", f"{where} [rules]") or ()
    deny_ids = tuple(_license_id(d, f"{where} [rules] deny-licenses") for d in deny)
    rules = Rules(
        allow_categories=allow,
        deny_licenses=deny_ids,
        require_verified=bool(_bool(rules_raw, "require-verified", f"{where} [rules]")),
        require_smoke_test=bool(_bool(rules_raw, "require-smoke-test", f"{where} [rules]")),
    )

    waivers_raw = data.get("waivers", [])
    if not isinstance(waivers_raw, list):
        raise InvalidInput(f"{where}: waivers must be an array of tables ([[waivers]])")
    waivers = []
    for i, raw in enumerate(waivers_raw, 1):
        w = _check_keys(raw, _WAIVER_KEYS, f"{where} waiver {i}")
        missing = [k for k in ("model", "verdict", "reason", "approver", "expires") if k not in w]
        if missing:
            raise InvalidInput(f"{where} waiver {i}: missing {missing[0]!r}",
                               hint="every waiver names model, verdict, reason, approver and expires")
        for key in ("model", "verdict", "reason", "approver"):
            if not isinstance(w[key], str) or not w[key].strip():
                raise InvalidInput(f"{where} waiver {i}: {key} must be a non-empty string")
        if w["verdict"] not in VERDICTS[:2]:
            raise InvalidInput(f"{where} waiver {i}: verdict must be 'allowed' or 'conditional'")
        expires, written = _expiry(w["expires"], f"{where} waiver {i}")
        waivers.append(Waiver(w["model"].strip(), w["verdict"], w["reason"].strip(), w["approver"].strip(),
                              expires, written))
    return Policy(where, use, rules, tuple(waivers))


def _license_id(value: str, where: str) -> str:
    from .licenses import knowledge_base

    try:
        resolved = knowledge_base().resolve(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}", hint=exc.hint) from None
    return resolved.license_id if resolved and resolved.license_id else value


def load_policy(path: Path) -> Policy:
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise InvalidInput(f"{path}: a policy file larger than 1 MiB is refused", path=str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read policy {path}: {exc.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", path=str(path)) from None
    return parse_policy(text, str(path))


def _license_parts(license_expr: str | None) -> list[str]:
    """Every license of an expression (``mit AND llama2`` -> mit, llama2); the
    string itself when the knowledge base cannot parse it."""
    from .licenses import knowledge_base

    if not license_expr:
        return []
    try:
        resolved = knowledge_base().resolve(license_expr)
    except InvalidInput:
        return [license_expr]
    return list(resolved.ids) if resolved and resolved.ids else [license_expr]


def apply_policy(
    decision: ModelDecision, facts: ModelFacts, policy: Policy, now: dt.datetime, keys: set[str]
) -> ModelDecision:
    """Policy violations for one model, then any waiver that names it (by ``keys``:
    its lowercased catalog name and repo id)."""
    from dataclasses import replace

    from .licenses import knowledge_base

    kb = knowledge_base()
    rules = policy.rules
    violations: list[str] = []
    parts = _license_parts(facts.license)
    if rules.allow_categories is not None:
        categories = {p: kb.category_of(p) for p in parts} if parts else {None: facts.category}
        for part, cat in categories.items():
            if cat not in rules.allow_categories:
                which = f" ({part})" if part and len(parts) > 1 else ""
                violations.append(f"category {cat}{which} is not allowed by policy "
                                  f"(allow-categories: {', '.join(rules.allow_categories)})")
    for part in parts:
        if part in rules.deny_licenses:
            which = f" (in {facts.license})" if len(parts) > 1 else ""
            violations.append(f"license {part}{which} is denied by policy (deny-licenses)")
    if rules.require_verified and facts.verified != "passed":
        violations.append("policy requires verified weights: "
                          + ("last verification failed" if facts.verified else "never verified"))
    if rules.require_smoke_test and facts.smoke_tested != "passed":
        violations.append("policy requires a passing smoke test: "
                          + (f"last smoke test {facts.smoke_tested}" if facts.smoke_tested else "never smoke-tested"))

    waiver = next((w for w in policy.waivers if w.matches(keys)), None)
    if waiver is None:
        return replace(decision, violations=violations)
    info = waiver.to_dict()
    if now >= waiver.expires:
        info["applied"] = False
        info["note"] = f"waiver expired at {waiver.expires.isoformat()} and no longer applies"
        return replace(decision, violations=violations, waiver=info)
    info["applied"] = True
    info["waived"] = [decision.verdict] + violations if (violations or decision.verdict != waiver.verdict) else []
    return replace(decision, verdict=waiver.verdict, violations=[], waiver=info)


def unmatched_waivers(policy: Policy, keys: set[str]) -> list[Waiver]:
    """Waivers that name no model in the catalog (a typo, or a model removed)."""
    return [w for w in policy.waivers if not w.matches(keys)]
