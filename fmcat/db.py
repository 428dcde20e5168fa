"""Opening the catalog database: URLs, SQLite settings, schema checks and upgrades.

A SQLite catalog is created and upgraded automatically, with a backup copy
left beside it first; any other database is upgraded only by
``fmcat db upgrade``. A catalog written by a newer fmcat is refused. The
revision check reads ``alembic_version`` with plain SQL so that ordinary
commands never import Alembic.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session

from .errors import CatalogError, NeedsUpgrade, NotACatalog, SchemaTooNew
from .settings import package_data_dir

log = logging.getLogger(__name__)

# Every schema revision in order, oldest first. A test checks this against the
# Alembic scripts, so adding a migration means adding its id here.
from .schema import SCHEMA_HEAD, SCHEMA_REVISIONS  # noqa: E402  (re-exported: a new revision goes there)

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10  # overridable with ?connect_timeout=N in the URL
_SQLITE_MAGIC = b"SQLite format 3\x00"


def resolve_url(location: str) -> str:
    """A SQLAlchemy URL for ``--db``: URLs pass through, anything else is a file path."""
    if "://" in location:
        return location
    return f"sqlite:///{Path(location).expanduser().resolve()}"


@dataclass(frozen=True)
class SchemaState:
    url: str
    backend: str
    revision: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


class Catalog:
    """An open catalog: its engine, and sessions for reading or writing."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._writer = engine.execution_options(fmcat_write=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        return _sqlite_path(self.url)

    @property
    def display_location(self) -> str:
        path = self.sqlite_path
        return str(path) if path else make_url(self.url).render_as_string(hide_password=True)

    def session(self, *, write: bool = False) -> Session:
        """A session; writers take SQLite's write lock up front (BEGIN IMMEDIATE)."""
        return Session(self._writer if write else self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    database = u.database
    if database.startswith("file:"):  # an SQLite URI (uri=true): file:/path?mode=ro
        database = database[len("file:"):].split("?", 1)[0]
        if not database or database == ":memory:":
            return None
    return Path(database)


def make_engine(url: str) -> Engine:
    try:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            engine = create_engine(u, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
        else:
            # a server that accepts connections and never answers must not hang fmcat
            args = {} if "connect_timeout" in u.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
            engine = create_engine(u, pool_pre_ping=True, connect_args=args)
    except (ArgumentError, ValueError) as exc:
        raise CatalogError(
            f"cannot use catalog URL {url!r}: {exc}",
            hint="give --db a file path or a SQLAlchemy URL such as postgresql+psycopg://host/db",
        ) from None
    except (NoSuchModuleError, ImportError) as exc:
        raise CatalogError(
            f"no database driver for {url!r} ({exc})",
            hint="for PostgreSQL install the extra: pip install 'fmcat[postgres]'",
        ) from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so DDL is transactional too.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get("fmcat_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _check_sqlite_file(path: Path) -> None:
    if path.is_dir():
        raise NotACatalog(f"{path} is a directory, not a catalog file", hint="point --db at a file")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from None
    if magic != _SQLITE_MAGIC:
        raise NotACatalog(
            f"{path} is not an fmcat catalog (not a SQLite database)",
            hint="point --db or FMCAT_DB at a catalog file, or at a new path to create one",
            path=str(path),
        )


def read_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, None for an empty database."""
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if "alembic_version" not in names:
                if names:
                    raise NotACatalog(
                        f"the database at {_display(engine)} holds tables but is not an fmcat catalog",
                        hint="point --db at an fmcat catalog or at an empty database",
                    )
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError as exc:
        raise _database_error(engine, exc) from None
    if len(rows) != 1:
        raise NotACatalog(f"the catalog at {_display(engine)} has a damaged schema version table")
    return rows[0]


def _display(engine: Engine) -> str:
    path = _sqlite_path(str(engine.url))
    return str(path) if path else engine.url.render_as_string(hide_password=True)


_LOST = ("server closed the connection", "terminating connection", "connection is lost", "consuming input failed",
         "connection already closed", "the connection is closed", "ssl syscall", "connection reset",
         "server conn crashed", "admin_shutdown", "cannot connect now", "the database system is shutting down")


def _database_error(engine: Engine, exc: DBAPIError, *, during: str = "open") -> CatalogError:
    """One line naming what went wrong with the catalog, where, and what it means."""
    detail = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
    detail = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
    low = detail.lower()
    where = _display(engine)
    if "not a database" in low or "malformed" in low:
        return NotACatalog(f"{where} is not a usable fmcat catalog ({detail})")
    if "readonly database" in low or "read-only" in low or "read only" in low:
        return CatalogError(f"the catalog {where} is read-only ({detail}); nothing was written",
                            hint="check the file's and its folder's permissions, or pass --db for a writable catalog")
    if "disk is full" in low or "no space left" in low or "disk full" in low:
        return CatalogError(f"the disk holding the catalog {where} is full ({detail}); nothing was written",
                            hint="free some space and run the command again")
    if "database is locked" in low or "database table is locked" in low:
        return CatalogError(f"the catalog {where} stayed locked by another process ({detail}); nothing was written",
                            hint="wait for the other fmcat command to finish, then run this one again")
    if "timeout expired" in low or "timed out" in low:
        return CatalogError(f"the catalog server {where} did not answer in time ({detail})",
                            hint="check the server, or raise connect_timeout in the URL")
    if during == "use" and (any(m in low for m in _LOST) or getattr(exc, "connection_invalidated", False)):
        return CatalogError(f"lost the connection to the catalog server {where}; nothing was written",
                            hint="run the command again once the server is back")
    if isinstance(exc, OperationalError):
        verb = "cannot open" if during == "open" else "cannot use"
        return CatalogError(f"{verb} catalog {where}: {detail}")
    return CatalogError(f"catalog {where}: {detail}")


def catalog_error(catalog: Catalog, exc: DBAPIError) -> CatalogError:
    """A database error raised while a command used the catalog, as one line."""
    return _database_error(catalog.engine, exc, during="use")


def schema_state(catalog: Catalog) -> SchemaState:
    """The catalog's schema revision; a SQLite file that does not exist yet is not created."""
    path = catalog.sqlite_path
    missing = path is not None and not path.exists()
    return SchemaState(
        url=catalog.display_location,
        backend=catalog.backend,
        revision=None if missing else read_revision(catalog.engine),
        head=SCHEMA_HEAD,
    )


def _check_known(revision: str | None, where: str) -> None:
    if revision is not None and revision not in SCHEMA_REVISIONS:
        raise SchemaTooNew(
            f"catalog {where} was written by a newer fmcat (schema revision {revision!r}, "
            f"this fmcat knows up to {SCHEMA_HEAD!r})",
            hint="upgrade fmcat (pip install -U fmcat); the catalog was left untouched",
        )


def open_catalog(location: str, *, migrate: bool = True) -> Catalog:
    """Open the catalog at ``location`` (a path or URL), ready for use.

    With ``migrate`` a SQLite catalog is created or upgraded as needed (backup
    first). Other backends must already be at the head revision.
    """
    url = resolve_url(location)
    path = _sqlite_path(url)
    if path is not None:
        _check_sqlite_file(path)
        if not path.exists():
            if not migrate:
                return Catalog(url, make_engine(url))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogError(f"cannot create {path.parent}: {exc.strerror}") from None
    created = path is not None and not path.exists()
    catalog = Catalog(url, make_engine(url))
    try:
        revision = read_revision(catalog.engine)
        _check_known(revision, catalog.display_location)
        if revision == SCHEMA_HEAD or not migrate:
            return catalog
        if path is None:
            raise NeedsUpgrade(
                f"catalog {catalog.display_location} is at schema revision {revision or 'none'}, "
                f"this fmcat needs {SCHEMA_HEAD}",
                hint="run `fmcat db upgrade` once for this database",
            )
        upgrade(catalog)
    except BaseException:
        catalog.dispose()
        if created and path is not None:  # a failed creation leaves no empty catalog behind
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise
    return catalog


def upgrade(catalog: Catalog) -> tuple[str | None, str, Path | None]:
    """Bring the schema to head in one transaction; returns (from, to, backup file)."""
    from alembic import command

    backup: Path | None = None
    sqlite = catalog.backend == "sqlite"
    if catalog.sqlite_path is not None and not catalog.sqlite_path.parent.exists():
        try:
            catalog.sqlite_path.parent.mkdir(parents=True)
        except OSError as exc:
            raise CatalogError(f"cannot create {catalog.sqlite_path.parent}: {exc.strerror}") from None
    _check_known(read_revision(catalog.engine), catalog.display_location)  # refuses non-catalogs
    with catalog.engine.connect() as conn:
        raw = conn.connection.driver_connection
        if sqlite:
            # Table rebuilds in batch migrations must not fire ON DELETE CASCADE;
            # the pragma only takes effect outside a transaction.
            raw.execute("PRAGMA foreign_keys = OFF")
            # WAL is a property of the file: set here, on fmcat's own catalogs only
            # (read_revision above refused anything else).
            raw.execute("PRAGMA journal_mode = WAL")
        try:
            with conn.execution_options(fmcat_write=True).begin():
                if catalog.backend == "postgresql":
                    # one upgrader at a time; released with the transaction
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
                before = _revision_in(conn)
                _check_known(before, catalog.display_location)
                if before == SCHEMA_HEAD:
                    return before, SCHEMA_HEAD, None
                if sqlite and before is not None and catalog.sqlite_path is not None:
                    backup = _backup_sqlite(catalog.sqlite_path, before)
                command.upgrade(alembic_config(connection=conn), "head")
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise CatalogError(f"upgrade left {len(bad)} dangling references; rolled back")
        except DBAPIError as exc:
            raise _database_error(catalog.engine, exc) from None
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")
    if backup is not None:
        log.warning("upgraded catalog schema %s -> %s; backup at %s", before, SCHEMA_HEAD, backup)
    return before, SCHEMA_HEAD, backup


def _revision_in(conn) -> str | None:  # type: ignore[no-untyped-def]
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _backup_sqlite(path: Path, revision: str) -> Path:
    """Copy the catalog beside itself. Called while this process holds the write
    lock and has written nothing, so a second (reading) connection sees exactly
    the state about to be upgraded."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.bak-{revision}-{stamp}")
    src = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    dest = sqlite3.connect(target)
    try:
        src.backup(dest)
    finally:
        dest.close()
        src.close()
    return target


def alembic_config(*, url: str | None = None, connection=None):  # type: ignore[no-untyped-def]
    """An Alembic Config for fmcat's migrations, on a URL or a shared connection."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(package_data_dir("migrations")))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg
