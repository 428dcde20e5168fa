"""`fmcat check-license`: decisions for catalog models under a use and a policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from .decide import Decider, ModelDecision, ModelFacts, Use, decide_model, multimodal
from .entries import model_key
from .licenses import knowledge_base
from .policy import Policy, Waiver, apply_policy, unmatched_waivers

if TYPE_CHECKING:  # the ORM is imported where a session is used: `fastread` answers without it
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CheckResult:
    use: Use
    policy: str | None
    decisions: list[ModelDecision]
    unmatched_waivers: tuple[Waiver, ...] = ()

    @property
    def failing(self) -> list[ModelDecision]:
        return [d for d in self.decisions if d.failing]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.decisions:
            out[d.verdict] = out.get(d.verdict, 0) + 1
        return out


def _latest_status(session: Session, table: Any) -> dict[int, str]:
    from sqlalchemy import func, select

    last = select(table.model_id, func.max(table.id).label("id")).group_by(table.model_id).subquery()
    rows = session.execute(select(table.model_id, table.status).join(last, table.id == last.c.id))
    return {model_id: status for model_id, status in rows}


def load_facts(
    session: Session, *, need_runs: bool = False
) -> tuple[list[ModelFacts], dict[str, ModelFacts], dict[str, ModelFacts], dict[str, set[str]]]:
    """Facts for every model, by catalog name, an index by ``model_key`` of name
    and repo id for lineage, and
    each model's keys for waivers (its name and repo id, lowercased)."""
    from sqlalchemy import select

    from .models import Model, SmokeTest, Verification

    verified = _latest_status(session, Verification) if need_runs else {}
    smoke = _latest_status(session, SmokeTest) if need_runs else {}
    rows = session.execute(
        select(Model.id, Model.name, Model.display_name, Model.license_id, Model.license_declared,
               Model.category, Model.base_models, Model.repo_id, Model.facts, Model.task,
               Model.architecture).order_by(Model.name)
    )
    facts: list[ModelFacts] = []
    by_name: dict[str, ModelFacts] = {}
    index: dict[str, ModelFacts] = {}
    aliases: dict[str, set[str]] = {}
    by_repo: dict[str, ModelFacts] = {}
    for r in rows:
        f = ModelFacts(
            name=r.name, display_name=r.display_name,
            license=r.license_id or r.license_declared,
            category=r.category, base_models=tuple(r.base_models or ()),
            verified=verified.get(r.id), smoke_tested=smoke.get(r.id),
            conflict=(r.facts or {}).get("license_conflict"),
            doubt=(r.facts or {}).get("license_doubt"),
            multimodal=multimodal(r.task, r.architecture),
        )
        facts.append(f)
        by_name[r.name] = f
        index.setdefault(model_key(r.name), f)
        if r.repo_id:
            by_repo.setdefault(model_key(r.repo_id), f)
        aliases[r.name] = {a.lower() for a in (r.name, r.repo_id) if a}
    for key, f in by_repo.items():
        index.setdefault(key, f)
    return facts, by_name, index, aliases


def check_licenses(
    session: Session,
    names: Sequence[str] | None,
    use: Use,
    policy: Policy | None = None,
    *,
    now: dt.datetime | None = None,
) -> CheckResult:
    """Decide every named model (or all, for ``names=None``) for ``use``."""
    from .catalog import find_model

    need_runs = bool(policy and (policy.rules.require_verified or policy.rules.require_smoke_test))
    facts, by_name, index, aliases = load_facts(session, need_runs=need_runs)
    if names is not None:
        wanted = []
        for ref in names:
            name = find_model(session, ref).name
            if name not in wanted:
                wanted.append(name)
        facts = [by_name[n] for n in wanted]
    decider = Decider(knowledge_base(), use)
    now = now or dt.datetime.now(dt.timezone.utc)
    decisions = []
    for f in facts:
        d = decide_model(f, decider, index)
        if policy is not None:
            d = apply_policy(d, f, policy, now, aliases[f.name])
        decisions.append(d)
    unmatched = tuple(unmatched_waivers(policy, set().union(*aliases.values()))) if policy else ()
    return CheckResult(use, policy.path if policy else None, decisions, unmatched)
