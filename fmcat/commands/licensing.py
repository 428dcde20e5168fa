"""`fmcat check-license` and `fmcat licenses`."""

from __future__ import annotations

from typing import Any

import click

from ..cli import (
    State,
    clean,
    echo,
    echo_table,
    emit_json,
    emit_json_list,
    json_option,
    paint,
    pass_state,
)
from .options import build_use, use_options


def _wrap(text: str, indent: str) -> str:
    import textwrap

    return textwrap.fill(clean(text), width=100, initial_indent=indent, subsequent_indent=indent + "  ")


@click.command("check-license")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Check every model in the catalog.")
@use_options
@json_option
@pass_state
def check_license(state: State, names: tuple[str, ...], all_: bool, as_json: bool, **params: Any) -> None:
    """Decide whether the intended use is allowed, what it obliges, and which clause says so.

    Verdicts: allowed, conditional, needs-permission, prohibited, unknown.
    Exit 0 when every model is allowed or conditional (and policy-clean),
    1 when any is not, 2 when the check could not run.

    \b
    Example:
      fmcat check-license "Llama 2" --mau 1000000 --distribute
      fmcat check-license --all --policy policy.toml --json
    """
    if bool(names) == all_:
        raise click.UsageError("name the models to check, or give --all")
    use, policy = build_use(params)
    result = None
    if all_ and as_json:  # every model, decided and written one by one: constant memory at any size
        from ..fastread import iter_check_all

        streamed = iter_check_all(state.location(), use, policy)
        if streamed is not None:
            decisions, unmatched = streamed
            failing = False

            def dicts() -> Any:
                nonlocal failing
                for d in decisions:
                    failing = failing or d.failing
                    yield d.to_dict()

            emit_json_list(dicts())
            for w in unmatched():
                click.echo(f"warning: the waiver for {clean(w.model)!r} names no model in the catalog "
                           "(waivers match the catalog name or repo id)", err=True)
            if failing:
                raise SystemExit(1)
            return
    if not all_:  # a few named models on a SQLite catalog: read them alone, without the ORM
        from ..fastread import check_names

        result = check_names(state.location(), list(names), use, policy)
    if result is None:
        from ..checks import check_licenses

        with state.session() as s:
            result = check_licenses(s, None if all_ else list(names), use, policy)
    warn_unmatched_waivers(result)
    if as_json:
        emit_json([d.to_dict() for d in result.decisions])
    else:
        _render(result)
    if result.failing:
        raise SystemExit(1)


def warn_unmatched_waivers(result: Any) -> None:
    for w in result.unmatched_waivers:
        click.echo(f"warning: the waiver for {clean(w.model)!r} names no model in the catalog "
                   "(waivers match the catalog name or repo id)", err=True)


def _render(result: Any) -> None:
    click.echo(f"Intended use: {result.use.describe()}" + (f" (policy {result.policy})" if result.policy else ""))
    for d in result.decisions:
        title = clean(d.display_name or d.model)
        name = f" ({clean(d.model)})" if d.display_name and d.display_name != d.model else ""
        click.echo("")
        echo(f"{title}{name}: {paint(d.verdict.upper(), d.verdict)}  [{clean(d.license or 'no license')}, {d.category}]")
        for flag in d.flags:
            click.echo(_wrap(f"! {flag}", "  "))
        if d.lineage:
            click.echo(f"  lineage: {' -> '.join(clean(x) for x in [d.model, *d.lineage])}")
        if d.obligations:
            click.echo("  obligations:")
            for o in d.obligations:
                click.echo(_wrap(f"- {o}", "    "))
        click.echo("  because:")
        for r in d.reasons:
            text = f"\"{r.text}\"" if r.quoted else f"({r.text})"
            click.echo(_wrap(f"[{r.verdict}] {r.clause}: {text}", "    "))
        for v in d.violations:
            click.echo(_wrap(f"policy violation: {v}", "  "))
        if d.waiver:
            w = d.waiver
            if w.get("applied"):
                click.echo(_wrap(f"waiver by {w['approver']} until {w['expires']}: {w['reason']}", "  "))
            else:
                click.echo(_wrap(f"waiver not applied: {w.get('note')}", "  "))
    counts = ", ".join(f"{n} {v}" for v, n in sorted(result.counts().items()))
    failing = result.failing
    click.echo("")
    click.echo(f"{len(result.decisions)} model(s): {counts}."
               + (f" Needs attention: {', '.join(clean(d.model) for d in failing)}." if failing else ""))


@click.command("licenses")
@click.argument("args", nargs=-1, metavar="[ID | FILE...]")
@click.option("--identify", "identify_files", is_flag=True,
              help="Identify the license each FILE holds (e.g. a repository's LICENSE): identical to a known "
                   "text, a modified copy (every differing passage shown), or not identified.")
@click.option("--domains", "show_domains", is_flag=True,
              help="List the fields of use --domain accepts, with their aliases and the licenses restricting each.")
@json_option
def licenses(args: tuple[str, ...], identify_files: bool, show_domains: bool, as_json: bool) -> None:
    """Show the license knowledge base: categories, terms, obligations and clauses.

    With --identify, each FILE is compared with the knowledge base's license texts;
    exit 1 when any file is modified or not identified.

    \b
    Example:
      fmcat licenses
      fmcat licenses llama2
      fmcat licenses --domains
      fmcat licenses --identify ./LICENSE ./USE_POLICY.md
    """
    from ..errors import InvalidInput
    from ..licenses import knowledge_base

    if identify_files:
        if not args:
            raise click.UsageError("--identify needs at least one FILE")
        _identify(args, as_json)
        return
    if len(args) > 1:
        raise click.UsageError("give one license ID (or --identify FILE...)")
    license_id = args[0] if args else None
    kb = knowledge_base()
    if show_domains:
        _domains(kb, as_json)
        return
    if license_id is None:
        rows = sorted(kb.licenses.values(), key=lambda lic: (lic.category, lic.id))
        if as_json:
            emit_json([_license_dict(lic, kb, full=False) for lic in rows])
            return
        echo_table([[lic.id, lic.category, lic.spdx or lic.scancode or "-", lic.name] for lic in rows],
                   ["id", "category", "spdx / scancode", "name"])
        return
    resolved = kb.resolve(license_id)
    if resolved is None or resolved.license_id not in kb.licenses:
        hint = kb.suggest(license_id)
        raise InvalidInput(f"no license {license_id!r} in the knowledge base",
                           hint=(f"did you mean {hint!r}? " if hint else "") + "run `fmcat licenses` for the list")
    lic = kb.licenses[resolved.license_id]
    if as_json:
        emit_json(_license_dict(lic, kb, full=True))
        return
    _render_license(lic, kb)


def _license_dict(lic: Any, kb: Any, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": lic.id, "name": lic.name, "category": lic.category, "spdx": lic.spdx,
        "scancode": lic.scancode, "url": lic.url, "aliases": list(lic.aliases),
        "restricted_domains": list(lic.restricted_domains),
    }
    if full:
        out["source"] = lic.source
        out["texts"] = list(lic.texts)
        out["grant"] = {"clause": lic.grant.section, "text": lic.grant.text} if lic.grant else None
        out["terms"] = [
            {
                "when": [sorted(g) for g in r.when], "mau_above": r.mau_above, "domains": sorted(r.domains),
                "effect": r.effect, "obligations": list(r.obligations),
                "clause": r.clause.section, "text": r.clause.text, "quoted": r.clause.quoted,
            }
            for r in lic.rules
        ]
        out["domains"] = {d: kb.domains[d].description for d in lic.restricted_domains}
    return out


def _domains(kb: Any, as_json: bool) -> None:
    restricting: dict[str, list[str]] = {d: [] for d in kb.domains}
    for lic in kb.licenses.values():
        for d in lic.restricted_domains:
            restricting[d].append(lic.id)
    rows = [{"domain": d.id, "description": d.description, "aliases": list(d.aliases),
             "restricted_by": sorted(restricting[d.id])} for d in kb.domains.values()]
    if as_json:
        emit_json(rows)
        return
    echo_table([[r["domain"], ", ".join(r["aliases"]) or "-", ", ".join(r["restricted_by"]) or "-"] for r in rows],
               ["domain", "aliases", "restricted by"])


def _render_license(lic: Any, kb: Any) -> None:
    click.echo(f"{lic.name} ({lic.id})")
    click.echo(f"category:  {lic.category}")
    for label, value in (("spdx", lic.spdx), ("scancode", lic.scancode), ("url", lic.url),
                         ("aliases", ", ".join(lic.aliases)), ("source", lic.source)):
        if value:
            click.echo(f"{label + ':':<11}{value}")
    if lic.grant:
        text = f"\"{lic.grant.text}\"" if lic.grant.quoted else f"(note: {lic.grant.text})"
        click.echo(_wrap(f"grant ({lic.grant.section}): {text}", ""))
    click.echo("terms:")
    for r in lic.rules:
        cond = []
        if r.when:
            cond.append(" and ".join("/".join(sorted(g)) for g in r.when))
        if r.mau_above is not None:
            cond.append(f"more than {r.mau_above:,} monthly active users")
        if r.domains:
            cond.append("domain " + "/".join(sorted(r.domains)))
        click.echo(f"  when {' and '.join(cond) or 'any use'} -> {r.effect}  [{r.clause.section}]")
        click.echo(_wrap(f"\"{r.clause.text}\"" if r.clause.quoted else f"(note: {r.clause.text})", "      "))
        for o in r.obligations:
            click.echo(_wrap(f"- {o}", "      "))
    if lic.restricted_domains:
        click.echo("restricted domains:")
        for d in lic.restricted_domains:
            click.echo(f"  {d}: {kb.domains[d].description}")


def _identify(paths: tuple[str, ...], as_json: bool) -> None:
    from pathlib import Path

    from ..errors import InvalidInput
    from ..identify import identify_all

    texts = {}
    for path in paths:
        try:
            p = Path(path)
            if p.is_dir():
                raise InvalidInput(f"{path} is a directory, not a license file", path=path)
            if p.stat().st_size > 4 * 1024 * 1024:
                raise InvalidInput(f"{path} is larger than 4 MiB: not a license text", path=path)
            texts[path] = p.read_bytes().decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise InvalidInput(f"{path}: not UTF-8 text", path=path) from None
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}", path=path) from None
    results = {path: identify_all(text) for path, text in texts.items()}
    if as_json:
        emit_json([{
            "file": path,
            "status": ("identified" if found and all(i.exact for i in found)
                       else "modified" if found else "not-identified"),
            "licenses": [{
                "license": i.license_id, "reference": i.reference, "status": i.status,
                "similarity": i.similarity,
                "differences": [{"kind": d.kind, "reference": d.reference, "text": d.text, "context": d.context}
                                for d in i.differences],
                "more_differences": i.more_differences,
            } for i in found],
        } for path, found in results.items()])
    else:
        for path, found in results.items():
            prefix = f"{clean(path)}: " if len(results) > 1 else ""
            if not found:
                click.echo(f"{prefix}not identified as any license in the knowledge base")
            for i in found:
                click.echo(f"{prefix}{i.summary()}")
                for d in i.differences:
                    click.echo(_wrap(f"- {d.describe()}", "    "))
                if i.more_differences:
                    click.echo(f"    ... and {i.more_differences} more differences")
    if any(not found or not all(i.exact for i in found) for found in results.values()):
        raise SystemExit(1)
