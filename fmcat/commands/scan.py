"""`fmcat scan`: which models does this codebase use, and may it?"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..cli import State, clean, echo, json_option, paint, pass_state
from .options import build_use, use_options

MAX_NOTES_SHOWN = 20


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "sarif"]), default=None,
              help="Output format (default: table; from -o's extension: .sarif, .json).")
@click.option("-o", "--output", metavar="FILE", help="Write the result to FILE ('-' for stdout).")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip paths matching this gitignore-style pattern (repeatable); .gitignore is always honoured.")
@click.option("--add", "add_missing", is_flag=True,
              help="Add the Hub models (pinned) and hosted API models that are not in the catalog, then decide them.")
@use_options
@json_option
@pass_state
def scan(state: State, paths: tuple[str, ...], fmt: str | None, output: str | None, exclude: tuple[str, ...],
         add_missing: bool, as_json: bool, **params: Any) -> None:
    """Find the models a codebase references and decide each for the intended use.

    Reads Python (by syntax tree, constants and defaults resolved), notebooks,
    YAML/JSON/TOML configs, Dockerfiles and shell scripts, and .env files.
    Exit 0 when every model is allowed or conditional, 1 when any is not (or is
    not in the catalog, or a reference cannot be resolved), 2 when the scan
    could not run.

    \b
    Example:
      fmcat scan .
      fmcat scan src notebooks --policy policy.toml --format sarif -o fmcat.sarif
    """
    import os

    from ..errors import InvalidInput
    from ..scan.core import decide_findings, group, scan_paths

    for p in paths:
        if not os.path.lexists(p):
            raise InvalidInput(f"no such file or folder: {clean(p)}", path=p)
    fmt = fmt or ("json" if as_json else _format_of(output))
    use, policy = build_use(params)
    result = scan_paths(list(paths), excludes=exclude)
    findings = group(result.references)
    with state.session() as s:
        unmatched = decide_findings(s, findings, use, policy)
    if add_missing:
        added = _add(state, findings)
        if added:
            with state.session() as s:
                unmatched = decide_findings(s, findings, use, policy)
    for w in unmatched:
        click.echo(f"warning: the waiver for {clean(w.model)!r} names no model in the catalog "
                   "(waivers match the catalog name or repo id)", err=True)
    _notes(result.notes)
    if fmt == "sarif":
        from .. import __version__
        from ..scan.sarif import to_sarif

        _write(json.dumps(to_sarif(result, findings, __version__), indent=2, ensure_ascii=False), output)
    elif fmt == "json":
        _write(json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False), output)
    elif output and output != "-":
        raise click.UsageError("the table goes to the terminal; give --format json or sarif with -o")
    else:
        _render(result, findings, use, policy)
    if any(f.failing for f in findings):
        raise SystemExit(1)


def _format_of(output: str | None) -> str:
    if output and output != "-":
        low = output.lower()
        if low.endswith((".sarif", ".sarif.json")):
            return "sarif"
        if low.endswith(".json"):
            return "json"
    return "table"


def _write(text: str, output: str | None) -> None:
    if not output or output == "-":
        click.echo(text)
        return
    from pathlib import Path

    from ..errors import InvalidInput

    target = Path(output)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {output}: {exc.strerror}", path=output) from None
    click.echo(f"Wrote {output}", err=True)


def _notes(notes: list[Any]) -> None:
    for n in notes[:MAX_NOTES_SHOWN]:
        click.echo(f"note: {clean(n.path)}: {clean(n.note)}", err=True)
    if len(notes) > MAX_NOTES_SHOWN:
        click.echo(f"note: ... and {len(notes) - MAX_NOTES_SHOWN} more (--format sarif lists every one)", err=True)


def _add(state: State, findings: list[Any]) -> int:
    """`fmcat add` for each Hub and API model not in the catalog; failures are warnings."""
    from ..errors import FmcatError
    from ..scan.refs import API, HUB, PROVIDERS
    from ..sources import read_source
    from .models import add_with_bases

    infos = []
    for f in findings:
        if f.catalog_name is not None or f.kind not in (HUB, API):
            continue
        if f.kind == API and f.provider not in PROVIDERS:
            click.echo(f"warning: not added: {clean(f.model)}: its provider is not known", err=True)
            continue
        try:
            if f.kind == HUB:
                rev = f.revisions[0] if len(f.revisions) == 1 else None
                infos.append(read_source(f.model, name=None, license_override=None, revision=rev))
            else:
                infos.append(read_source(f.model, name=None, license_override=None, revision=None, api=True,
                                         provider=PROVIDERS[f.provider]["name"]))
        except FmcatError as exc:
            click.echo(f"warning: not added: {clean(f.model)}: {clean(exc)}", err=True)
    if not infos:
        return 0
    written, warnings = add_with_bases(state, infos)
    for w in warnings:
        click.echo(f"warning: {clean(w)}", err=True)
    for info in written:
        click.echo(f"Added {clean(info.entry.name)}", err=True)
    return len(written)


def _render(result: Any, findings: list[Any], use: Any, policy: Any) -> None:
    click.echo(f"Intended use: {use.describe()}" + (f" (policy {policy.path})" if policy else ""))
    for f in findings:
        click.echo("")
        if f.kind == "unresolved":
            echo(f"{paint('UNRESOLVED', 'unknown')}  {clean(f.model)}  ({clean(f.why)})")
        else:
            d = f.decision
            where = f"in the catalog as {clean(f.catalog_name)}" if f.catalog_name else "not in the catalog"
            rev = f"@{', '.join(clean(r) for r in f.revisions)}" if f.revisions else ""
            echo(f"{clean(f.model)}{rev}: {paint(d.verdict.upper(), d.verdict)}  "
                 f"[{f.kind}, {where}, {clean(d.license or 'no license')}]")
            for flag in d.flags:
                click.echo(f"  ! {clean(flag)}")
            for o in d.obligations:
                click.echo(f"  - {clean(o)}")
            if d.verdict != "allowed" and d.reasons:
                r = d.reasons[0]
                text = f"\"{r.text}\"" if r.quoted else f"({r.text})"
                click.echo(f"  because [{r.verdict}] {clean(r.clause)}: {clean(text)}"[:400])
            for v in d.violations:
                click.echo(f"  policy violation: {clean(v)}")
        for loc in f.locations:
            click.echo(f"    {clean(loc.describe())}")
    models = [f for f in findings if f.kind != "unresolved"]
    unresolved = [f for f in findings if f.kind == "unresolved"]
    failing = [f for f in findings if f.failing and f.kind != "unresolved"]
    click.echo("")
    counts: dict[str, int] = {}
    for f in models:
        counts[f.decision.verdict] = counts.get(f.decision.verdict, 0) + 1
    summary = (f"{result.files} files scanned in {result.seconds:.2f} s: {len(models)} model(s)"
               + (f" ({', '.join(f'{n} {v}' for v, n in sorted(counts.items()))})" if counts else "")
               + f", {sum(1 for f in models if f.catalog_name)} in the catalog"
               + (f"; {sum(len(f.locations) for f in unresolved)} unresolved reference(s)" if unresolved else "")
               + ".")
    if failing:
        summary += f" Needs attention: {', '.join(clean(f.model) for f in failing)}."
    click.echo(summary)
    sys.stdout.flush()
