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
        "init": "fmcat.commands.catalog:init",
        "list": "fmcat.commands.catalog:list_",
        "show": "fmcat.commands.catalog:show",
        "remove": "fmcat.commands.catalog:remove",
        "import": "fmcat.commands.catalog:import_",
        "export": "fmcat.commands.catalog:export",
        "db": "fmcat.commands.db:db",
        "scan": "fmcat.commands.scan:scan",
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
    def __init__(self, db: str | None, *, quiet: bool = False, no_color: bool = False) -> None:
        self.db = db
        self.quiet = quiet
        self.no_color = no_color
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


def _flat_item(item: Any) -> str | None:
    """``json.dumps(item, indent=2)`` as a list item (indented one level) for a flat
    mapping of strings, None, booleans and integers (a `list` row): the pure-Python
    indenting encoder costs ten times more. None for anything else."""
    if not isinstance(item, dict) or not item:
        return None
    from json.encoder import encode_basestring

    parts = []
    for key, value in item.items():
        if value is None:
            text = "null"
        elif value is True:
            text = "true"
        elif value is False:
            text = "false"
        elif isinstance(value, str):
            text = encode_basestring(value)
        elif type(value) is int:
            text = int.__repr__(value)
        else:
            return None
        if not isinstance(key, str):
            return None
        parts.append(f"    {encode_basestring(key)}: {text}")
    return "  {\n" + ",\n".join(parts) + "\n  }"


def emit_json_list(items: Any) -> None:
    """A JSON list written item by item, byte for byte what ``emit_json(list(items))``
    writes, without holding the list or its text in memory."""
    first = True
    buffer: list[str] = []
    size = 0
    for item in items:
        text = _flat_item(item)
        if text is None:
            text = "  " + json.dumps(item, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  ")
        buffer.append(("[\n" if first else ",\n") + text)
        size += len(text)
        first = False
        if size > 1 << 16:
            click.echo("".join(buffer), nl=False)
            buffer, size = [], 0
    buffer.append("[]\n" if first else "\n]\n")
    click.echo("".join(buffer), nl=False)


VERDICT_COLOURS = {"allowed": "green", "conditional": "cyan", "needs-permission": "yellow",
                   "prohibited": "red", "unknown": "magenta"}


def colour() -> bool | None:
    """False when colour is turned off (NO_COLOR, --no-color); None lets click decide,
    which keeps it only on a terminal (never in pipes; JSON is never styled)."""
    import os

    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(State) if ctx else None
    if os.environ.get("NO_COLOR") or (state is not None and state.no_color):
        return False
    return None


def paint(text: str, verdict: str) -> str:
    """``text`` in the colour of ``verdict`` (shown only where colour() allows)."""
    fg = VERDICT_COLOURS.get(verdict.lower())
    return click.style(text, fg=fg, bold=verdict.lower() in ("prohibited", "needs-permission")) if fg else text


def echo(line: str = "", **kwargs: Any) -> None:
    click.echo(line, color=colour(), **kwargs)


def echo_table(rows: list[list[str]], headers: list[str], *, verdict_column: int | None = None) -> None:
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths))
    click.echo(line.rstrip())
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        if verdict_column is not None:
            cells[verdict_column] = paint(cells[verdict_column], r[verdict_column])
        echo("  ".join(cells).rstrip())


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
@click.option("--no-color", is_flag=True, help="No colours (also NO_COLOR=1); colours appear only on a terminal.")
@click.version_option(__version__, prog_name="fmcat")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: bool, quiet: bool, no_color: bool) -> None:
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
    ctx.obj = State(db, quiet=quiet, no_color=no_color)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli(prog_name="fmcat")

