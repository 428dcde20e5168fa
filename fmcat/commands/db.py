"""`fmcat db upgrade` and `fmcat db current`: the catalog's schema."""

from __future__ import annotations

import click

from ..cli import State, emit_json, json_option, pass_state


@click.group()
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
    from ..db import open_catalog, upgrade

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
    from ..db import open_catalog, schema_state

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
