"""`fmcat init`, `list`, `show`, `remove`, `import` and `export`: the catalog itself."""

from __future__ import annotations

import sys
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
from .options import use_options


@click.command()
@json_option
@pass_state
def init(state: State, as_json: bool) -> None:
    """Create or upgrade the catalog and load the curated known models.

    Idempotent: running it again changes nothing, and entries you added or
    imported are never touched.

    \b
    Example:
      fmcat init
      FMCAT_DB=./team.db fmcat init --json
    """
    from ..catalog import init_catalog

    with state.session(write=True) as s:
        result = init_catalog(s)
    if as_json:
        emit_json({"catalog": state.location(), **result.to_dict()})
        return
    click.echo(
        f"Catalog {state.location()}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.kept)} user entries left alone."
    )


@click.command("list")
@click.option("--category", type=click.Choice(["commercial", "open-source", "custom", "unknown"]),
              help="Only models of this license category.")
@click.option("--license", "license_", metavar="ID",
              help="Only models under this license, in any spelling the knowledge base knows (Apache-2.0, llama-2).")
@click.option("--verdict", type=click.Choice(["allowed", "conditional", "needs-permission", "prohibited", "unknown"]),
              multiple=True, help="Only models with this verdict for the use given by the use flags (repeatable).")
@use_options
@json_option
@pass_state
def list_(state: State, category: str | None, license_: str | None, verdict: tuple[str, ...],
          as_json: bool, **params: Any) -> None:
    """List the models in the catalog, optionally by verdict for an intended use.

    \b
    Example:
      fmcat list --category custom
      fmcat list --verdict allowed --verdict conditional --commercial --distribute
    """
    from .. import fastread
    from .options import USE_FLAG_PARAMS

    use_given = bool(verdict) or any(params.get(k) not in (None, (), False) for k in USE_FLAG_PARAMS)
    if as_json and not use_given:
        pieces = fastread.list_json(state.location(), category=category, license=license_)  # SQLite writes it
        if pieces is not None:
            for piece in pieces:
                click.echo(piece, nl=False)
            return
    decided: dict[str, Any] = {}
    checked: Any = None
    if use_given:
        from .options import build_use

        use, policy = build_use(params)
    fast = fastread.list_rows(state.location(), category=category, license=license_,  # SQLite: no ORM
                              use=use if use_given else None, policy=policy if use_given else None)
    rows, checked = fast if fast is not None else (None, None)
    if rows is None:
        from ..catalog import list_models

        with state.session() as s:
            rows = list_models(s, category=category, license=license_)
            if use_given:
                from ..checks import check_licenses

                checked = check_licenses(s, None, use, policy)
    if use_given:
        from .licensing import warn_unmatched_waivers

        warn_unmatched_waivers(checked)
        decided = {d.model: d for d in checked.decisions}
        if verdict:
            rows = [r for r in rows if decided[r.name].verdict in verdict]
    if as_json:
        emit_json_list(r.to_dict() | ({"verdict": decided[r.name].verdict,
                                       "obligation_count": len(decided[r.name].obligations)} if decided else {})
                       for r in rows)
        return
    if not rows:
        click.echo("No models match.", err=True)
        return
    if decided:
        echo_table(
            [[clean(r.name), clean(r.provider), r.category, clean(r.license or "-"), decided[r.name].verdict,
              str(len(decided[r.name].obligations))] for r in rows],
            ["name", "provider", "category", "license", "verdict", "obligations"], verdict_column=4,
        )
        return
    echo_table(
        [[clean(r.name), clean(r.provider), r.category, clean(r.license or "-"), r.access]
         for r in rows],
        ["name", "provider", "category", "license", "access"],
    )


@click.command()
@click.argument("name")
@json_option
@pass_state
def show(state: State, name: str, as_json: bool) -> None:
    """Show everything the catalog records about one model.

    NAME is the catalog name, the Hub repo id or the display name.

    \b
    Example:
      fmcat show "Llama 2"
      fmcat show meta-llama/Llama-2-7b-hf --json
    """
    from ..fastread import detail

    d = detail(state.location(), name)  # SQLite: read without the ORM
    if d is None:
        from ..catalog import model_detail

        with state.session() as s:
            d = model_detail(s, name)
    if as_json:
        emit_json(d.to_dict())
        return
    _render_detail(d)


def _render_detail(d: Any) -> None:
    def field(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            click.echo(f"{label + ':':<16}{clean(value)}")

    click.echo(clean(d.display_name or d.name))
    field("name", d.name)
    field("provider", d.provider)
    field("category", d.category)
    lic = d.license or "none recorded"
    if d.license_declared and d.license_declared != d.license:
        lic += f" (declared as {d.license_declared!r})"
    field("license", lic)
    field("license name", d.license_name)
    field("license link", d.license_link)
    field("license from", d.license_source)
    field("access", d.access + (f" ({d.gated} approval)" if d.gated else ""))
    if d.repo_id:
        weights = f"hub {d.repo_id} @ {d.revision or 'not pinned'}"
    elif d.local_path:
        weights = f"local {d.local_path}"
    else:
        weights = "none (hosted, API only)" if d.access == "api" else "none recorded"
    field("weights", weights)
    field("task", d.task)
    field("architecture", d.architecture)
    field("library", d.library_name)
    field("base model", ", ".join(d.base_models)
          + (f" ({d.base_model_relation})" if d.base_models and d.base_model_relation else ""))
    field("datasets", ", ".join(d.datasets))
    if d.has_remote_code:
        field("remote code", "yes: the repository carries Python code")
    field("origin", d.origin)
    if d.sources:
        click.echo("sources:")
        for key, text in d.sources.items():
            click.echo(f"  {clean(key)}: {clean(text)}")
    if d.unconfirmed:
        click.echo("unconfirmed:")
        for text in d.unconfirmed:
            click.echo(f"  - {clean(text)}")
    if d.license_evidence:
        click.echo("license evidence:")
        for ev in d.license_evidence:
            at = f" at {ev.revision[:12]}" if ev.revision else ""
            click.echo(f"  {ev.observed_at}  {ev.source}: {clean(ev.declared)} -> {clean(ev.license or 'unknown')}{at}")
    if d.files:
        click.echo(f"files ({len(d.files)}):")
        for f in d.files:
            digest = f"sha256:{f.sha256}" if f.sha256 else (f"blob:{f.blob_id}" if f.blob_id else "no hash")
            click.echo(f"  {clean(f.path)}  {f.size if f.size is not None else '?'} bytes  {digest}{_format_note(f)}")
    if d.verifications:
        click.echo("verifications:")
        for r in d.verifications:
            echo(f"  {r.started_at}  {paint(r.status, 'allowed' if r.status == 'passed' else 'prohibited')}  "
                 f"{clean(r.detail.get('summary') or '')}")
            files = r.detail.get("files") or []
            for f in files[:50]:
                why = f.get("reason") or f.get("note") or ""
                click.echo(f"    {f.get('status', '?'):<8}{clean(f.get('path'))}" + (f"  {clean(why)}" if why else ""))
            if len(files) > 50:
                click.echo(f"    ... and {len(files) - 50} more files")
    if d.smoke_tests:
        click.echo("smoke tests:")
        for r in d.smoke_tests:
            x = r.detail
            echo(f"  {r.started_at}  {paint(r.status, 'allowed' if r.status == 'passed' else 'prohibited')}"
                 + (f"  {clean(x.get('reason'))}" if x.get("reason") else ""))
            parts = []
            if x.get("device"):
                parts.append(f"device {clean(x['device'])}" + (f" ({clean(x['device_name'])})" if x.get("device_name") else ""))
            if x.get("dtype"):
                parts.append(f"dtype {clean(x['dtype'])}")
            if x.get("load_seconds") is not None:
                parts.append(f"load {x['load_seconds']:.2f} s")
            if x.get("inference_seconds") is not None:
                parts.append(f"inference {x['inference_seconds']:.2f} s")
            if x.get("throughput") is not None:
                parts.append(f"{x['throughput']:.1f} {clean(x.get('throughput_unit') or '')}".rstrip())
            if x.get("peak_memory_bytes"):
                parts.append(f"peak memory {x['peak_memory_bytes'] / 2**20:.0f} MiB")
            if parts:
                click.echo("    " + ", ".join(parts))


@click.command()
@click.argument("names", nargs=-1, required=True)
@json_option
@pass_state
def remove(state: State, names: tuple[str, ...], as_json: bool) -> None:
    """Remove models from the catalog, with their files and recorded runs.

    \b
    Example:
      fmcat remove acme/old-model
    """
    from ..catalog import remove_model

    with state.session(write=True) as s:
        removed = [remove_model(s, n) for n in names]
    if as_json:
        emit_json({"removed": removed})
        return
    for n in removed:
        click.echo(f"Removed {clean(n)}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@json_option
@pass_state
def import_(state: State, file: str, as_json: bool) -> None:
    """Load catalog entries from a YAML, JSON or JSON-lines file (all or nothing).

    Entries are matched by name: new ones are added, existing ones replaced.
    The format is the one `fmcat export` writes; `-` reads standard input.

    \b
    Example:
      fmcat export -o models.jsonl && fmcat import models.jsonl
    """
    from pathlib import Path

    from ..catalog import import_entries, parse_import

    specs = parse_import(sys.stdin.buffer.read() if file == "-" else Path(file))
    with state.session(write=True) as s:
        result = import_entries(s, specs)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"Imported {len(result.added)} new and {len(result.updated)} changed entries "
               f"({len(result.unchanged)} unchanged).")


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "yaml"]), default=None,
              help="Output format (default: from the file extension, else jsonl).")
@json_option
@pass_state
def export(state: State, output: str | None, fmt: str | None, as_json: bool) -> None:
    """Write every catalog entry in the format `fmcat import` reads.

    \b
    Example:
      fmcat export --format yaml -o catalog.yaml
    """
    from ..exporting import iter_rendered, write_atomic
    from ..fastread import iter_export

    if as_json:
        fmt = "json"
    if fmt is None:
        suffix = (output or "").rsplit(".", 1)[-1].lower() if output and "." in output else ""
        fmt = {"json": "json", "yaml": "yaml", "yml": "yaml"}.get(suffix, "jsonl")
    entries: Any = iter_export(state.location())  # SQLite: streamed from plain rows, at any size
    if entries is None:
        from ..catalog import export_entries

        with state.session() as s:
            entries = export_entries(s)
    count = 0

    def counted() -> Any:
        nonlocal count
        for e in entries:
            count += 1
            yield e

    pieces = iter_rendered(counted(), fmt)
    if output:
        write_atomic(output, pieces)
        click.echo(f"Wrote {count} entries to {output}", err=True)
    else:
        for piece in pieces:
            click.echo(piece, nl=False)


def _format_note(f: Any) -> str:
    """A GGUF file's quantisation and header facts, or its structure problem."""
    d = f.details or {}
    if d.get("format") != "gguf":
        return ""
    if d.get("error"):
        return f"  GGUF: {clean(d['error'])}"
    parts = [str(d[k]) for k in ("quantization", "architecture") if d.get(k)]
    if d.get("license"):
        parts.append(f"general.license {d['license']}")
    return f"  GGUF {clean(', '.join(parts))}" if parts else "  GGUF"
