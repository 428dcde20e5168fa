"""The fmcat command line. Thin: parse options, open one session, call one
function from a click-free module, render the result.

Only click and the standard library are imported at module level; everything
heavy (SQLAlchemy, Alembic, huggingface_hub, jinja2, torch) is imported inside
the command that needs it, so ``fmcat --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from typing import Any, Iterator

import click

from . import __version__
from .commands.options import use_options
from .errors import FmcatError


class Trouble(click.ClickException):
    """fmcat could not run: one line on stderr, exit code 2 (click's own exits 1)."""

    exit_code = 2


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is emitted (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _quiet_stdout() -> None:
    """The reader went away (`fmcat list | head`): end quietly, as `git log` does,
    with nothing left to flush into the closed pipe."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class FmcatGroup(click.Group):
    """Turns domain errors into one clear line; tracebacks only with FMCAT_DEBUG=1.

    Commands living in ``fmcat.commands`` are imported only when invoked (or
    listed in help), so start-up stays cheap.
    """

    lazy_commands = {
        "check-license": "fmcat.commands.licensing:check_license",
        "licenses": "fmcat.commands.licensing:licenses",
        "add": "fmcat.commands.models:add",
        "pull": "fmcat.commands.models:pull",
        "verify": "fmcat.commands.models:verify",
        "sync": "fmcat.commands.models:sync",
        "report": "fmcat.commands.reporting:report",
        "smoke-test": "fmcat.commands.models:smoke_test",
    }

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Like click's, but every error is one line on stderr (usage errors exit 2)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            click.echo(f"Error: {exc.format_message()}{where}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(0)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            import importlib

            module, attr = self.lazy_commands[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from . import settings

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None
        except FmcatError as exc:
            if settings.debug():
                raise
            raise Trouble(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # noqa: BLE001 - the CLI edge: never show a traceback
            if settings.debug():
                raise
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise Trouble(
                f"unexpected {type(exc).__name__}: {detail[:300]} "
                "(set FMCAT_DEBUG=1 for the traceback)"
            ) from None


class State:
    def __init__(self, db: str | None, *, quiet: bool = False) -> None:
        self.db = db
        self.quiet = quiet
        self._catalog: Any = None

    def catalog(self) -> Any:
        """The catalog, opened (created or upgraded as needed) once per command."""
        if self._catalog is None:
            from .db import open_catalog

            self._catalog = open_catalog(self.location())
        return self._catalog

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Any]:
        """One session in one transaction on the catalog; a database failure (read-only
        file, full disk, lock, lost server) becomes one line, and nothing is written."""
        from sqlalchemy.exc import DBAPIError

        from .db import catalog_error

        catalog = self.catalog()
        try:
            with catalog.session(write=write) as s, s.begin():
                yield s
        except DBAPIError as exc:
            raise catalog_error(catalog, exc) from None

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.dispose()
            self._catalog = None

    def location(self) -> str:
        from .settings import db_location

        return db_location(self.db)


pass_state = click.make_pass_decorator(State)

json_option = click.option("--json", "as_json", is_flag=True, help="Write one JSON document to stdout.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_table(rows: list[list[str]], headers: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths))
    click.echo(line.rstrip())
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def clean(value: Any) -> str:
    """Terminal-safe text: no control characters from catalog data."""
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text)


@click.group(cls=FmcatGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Catalog: a SQLite file path or a SQLAlchemy URL (default: $FMCAT_DB, else the user data dir).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what fmcat does to stderr.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or progress messages.")
@click.version_option(__version__, prog_name="fmcat")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: bool, quiet: bool) -> None:
    """Catalog foundation models: their licenses, what an intended use may do
    under them, and evidence that the weights are intact and run.

    \b
    Example:
      fmcat init && fmcat list
    """
    # fmcat's own messages on stderr; other libraries' (psycopg's "error ignored ..." after a
    # lost connection, say) only with --verbose, so a failure stays one line
    if verbose:
        logging.basicConfig(level=logging.INFO, format="fmcat: %(name)s: %(message)s", stream=sys.stderr)
    elif not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())  # not logging's last-resort printer
    own = logging.getLogger("fmcat")
    if not own.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("fmcat: %(message)s"))
        own.addHandler(handler)
        own.propagate = False
    own.setLevel(logging.INFO if verbose else logging.WARNING)
    ctx.obj = State(db, quiet=quiet)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
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
    from .catalog import init_catalog

    with state.session(write=True) as s:
        result = init_catalog(s)
    if as_json:
        emit_json({"catalog": state.location(), **result.to_dict()})
        return
    click.echo(
        f"Catalog {state.location()}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.kept)} user entries left alone."
    )


@cli.command("list")
@click.option("--category", type=click.Choice(["commercial", "open-source", "custom", "unknown"]),
              help="Only models of this license category.")
@click.option("--license", "license_", metavar="ID", help="Only models under this license id.")
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
    from .catalog import list_models

    with state.session() as s:
        rows = list_models(s, category=category, license=license_)
        if verdict:
            from .checks import check_licenses
            from .commands.licensing import warn_unmatched_waivers
            from .commands.options import build_use

            use, policy = build_use(params)
            checked = check_licenses(s, None, use, policy)
            warn_unmatched_waivers(checked)
            decided = {d.model: d.verdict for d in checked.decisions}
            rows = [r for r in rows if decided.get(r.name) in verdict]
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo("No models match.", err=True)
        return
    echo_table(
        [[clean(r.name), clean(r.provider), r.category, clean(r.license or "-"), r.access]
         for r in rows],
        ["name", "provider", "category", "license", "access"],
    )


@cli.command()
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
    from .catalog import model_detail

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
            click.echo(f"  {clean(f.path)}  {f.size if f.size is not None else '?'} bytes  {digest}")
    for title, runs in (("verifications", d.verifications), ("smoke tests", d.smoke_tests)):
        if runs:
            click.echo(f"{title}:")
            for r in runs:
                why = r.detail.get("summary") or r.detail.get("reason") or ""
                click.echo(f"  {r.started_at}  {r.status}  {clean(why)}")


@cli.command()
@click.argument("names", nargs=-1, required=True)
@json_option
@pass_state
def remove(state: State, names: tuple[str, ...], as_json: bool) -> None:
    """Remove models from the catalog, with their files and recorded runs.

    \b
    Example:
      fmcat remove acme/old-model
    """
    from .catalog import remove_model

    with state.session(write=True) as s:
        removed = [remove_model(s, n) for n in names]
    if as_json:
        emit_json({"removed": removed})
        return
    for n in removed:
        click.echo(f"Removed {clean(n)}")


@cli.command("import")
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

    from .catalog import import_entries, parse_import

    specs = parse_import(sys.stdin.buffer.read() if file == "-" else Path(file))
    with state.session(write=True) as s:
        result = import_entries(s, specs)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"Imported {len(result.added)} new and {len(result.updated)} changed entries "
               f"({len(result.unchanged)} unchanged).")


@cli.command()
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
    from .catalog import export_entries
    from .exporting import render_entries, write_atomic

    with state.session() as s:
        entries = export_entries(s)
    if as_json:
        fmt = "json"
    if fmt is None:
        suffix = (output or "").rsplit(".", 1)[-1].lower() if output and "." in output else ""
        fmt = {"json": "json", "yaml": "yaml", "yml": "yaml"}.get(suffix, "jsonl")
    text = render_entries(entries, fmt)
    if output:
        write_atomic(output, text)
        click.echo(f"Wrote {len(entries)} entries to {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.group()
def db() -> None:
    """Manage the catalog's schema.

    \b
    Example:
      fmcat db current
    """


@db.command("upgrade")
@json_option
@pass_state
def db_upgrade(state: State, as_json: bool) -> None:
    """Upgrade the catalog schema to this fmcat's version (required for PostgreSQL).

    A SQLite catalog is copied to a backup file beside it first.

    \b
    Example:
      fmcat --db postgresql+psycopg://fmcat@db/fmcat db upgrade
    """
    from .db import open_catalog, upgrade

    catalog = open_catalog(state.location(), migrate=False)
    try:
        before, after, backup = upgrade(catalog)
    finally:
        catalog.dispose()
    if as_json:
        emit_json({"catalog": catalog.display_location, "from": before, "to": after,
                   "backup": str(backup) if backup else None})
        return
    if before == after:
        click.echo(f"Catalog {catalog.display_location} is already at schema {after}.")
    else:
        click.echo(f"Upgraded {catalog.display_location} from {before or 'empty'} to {after}"
                   + (f"; backup at {backup}" if backup else "") + ".")


@db.command("current")
@json_option
@pass_state
def db_current(state: State, as_json: bool) -> None:
    """Show the catalog's schema revision and the one this fmcat needs.

    \b
    Example:
      fmcat db current --json
    """
    from .db import open_catalog, schema_state

    catalog = open_catalog(state.location(), migrate=False)
    try:
        st = schema_state(catalog)
    finally:
        catalog.dispose()
    if as_json:
        emit_json({"catalog": st.url, "backend": st.backend, "revision": st.revision,
                   "head": st.head, "up_to_date": st.up_to_date})
        return
    status = "up to date" if st.up_to_date else ("empty" if st.revision is None else "needs upgrade")
    click.echo(f"{st.url}: schema {st.revision or 'none'} (head {st.head}, {status})")


def main() -> None:
    cli(prog_name="fmcat")

