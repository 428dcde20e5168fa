"""One-model answers without SQLAlchemy: `check-license NAME` on a SQLite catalog.

A command that answers about the models it names reads them, and the base models
their lineage reaches, with the standard library's ``sqlite3`` on a read-only
connection: no ORM, no engine, no schema machinery, nothing loaded that the answer
does not need. The decision itself is the same code as everywhere
(``decide_model``, ``apply_policy``). Whenever this path is not sure it can answer
exactly as the full path would (not a plain SQLite file, a schema that is not the
current one, a name that matches nothing or several models), it returns None and
the command takes the full path, which also gives every error its usual wording.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_COLUMNS = ("id, name, display_name, license_id, license_declared, category, base_models, repo_id, facts, task, "
            "architecture")


def connect(location: str) -> sqlite3.Connection | None:
    """A read-only connection to the SQLite catalog at ``location`` when it is a plain
    file at the current schema revision; None otherwise."""
    from .schema import SCHEMA_HEAD

    if location.startswith("sqlite:///"):
        path = location[len("sqlite:///"):]
        if "?" in path:
            return None
    elif "://" in location or location.startswith("sqlite:"):
        return None
    else:
        path = location
    file = Path(path).expanduser()
    if not file.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
        conn.execute("BEGIN")  # one snapshot for every read of the answer
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return None
    if rows != [(SCHEMA_HEAD,)] or conn.execute(  # every model keyed (rows written by this fmcat)
            "SELECT 1 FROM models WHERE name_key IS NULL LIMIT 1"
    ).fetchone() is not None:
        conn.close()
        return None
    return conn


def find(conn: sqlite3.Connection, ref: str) -> tuple[Any, ...] | None:
    """The one model ``ref`` names, as ``find_model`` finds it; None when that is not one model."""
    ref = ref.strip()
    if not ref:
        return None
    row = conn.execute(f"SELECT {_COLUMNS} FROM models WHERE name = ?", (ref,)).fetchone()
    if row is not None:
        return row
    rows = conn.execute(f"SELECT {_COLUMNS} FROM models WHERE repo_id = ?", (ref,)).fetchall()
    if not rows:
        low = ref.lower()
        rows = conn.execute(f"SELECT {_COLUMNS} FROM models WHERE lower(name) = ? OR lower(repo_id) = ? "
                            "OR lower(display_name) = ?", (low, low, low)).fetchall()
    return rows[0] if len(rows) == 1 else None


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if value == "[]":  # most JSON columns hold nothing: skip the parser
        return []
    if value == "{}":
        return {}
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


class _Facts:
    """ModelFacts by ``model_key``, read from the catalog as lineage asks for them."""

    def __init__(self, conn: sqlite3.Connection, need_runs: bool) -> None:
        self.conn = conn
        self.need_runs = need_runs
        self.by_key: dict[str, Any] = {}
        self.by_name: dict[str, Any] = {}
        self.rows: dict[str, tuple[Any, ...]] = {}

    def facts(self, row: tuple[Any, ...]) -> Any:
        from .decide import ModelFacts, multimodal

        (mid, name, display_name, license_id, declared, category, bases, repo_id, facts, task, arch) = row
        known = self.by_name.get(name)
        if known is not None:
            return known
        facts = _json(facts, {}) or {}
        out = ModelFacts(
            name=name, display_name=display_name, license=license_id or declared, category=category,
            base_models=tuple(_json(bases, []) or ()),
            verified=self._latest("verifications", mid), smoke_tested=self._latest("smoke_tests", mid),
            conflict=facts.get("license_conflict"), doubt=facts.get("license_doubt"),
            multimodal=multimodal(task, arch),
        )
        self.by_name[name] = out
        self.rows[name] = row
        return out

    def _latest(self, table: str, model_id: int) -> str | None:
        if not self.need_runs:
            return None
        row = self.conn.execute(f"SELECT status FROM {table} WHERE model_id = ? ORDER BY id DESC LIMIT 1",
                                (model_id,)).fetchone()
        return row[0] if row else None

    def preload(self) -> dict[str, Any]:
        """Every model's facts, read in one pass, and the index ``load_facts`` builds:
        ``model_key`` of each name, then of each repo id not already a key."""
        from .entries import model_key

        index: dict[str, Any] = {}
        repos: list[tuple[str, Any]] = []
        cursor = self.conn.execute(f"SELECT {_COLUMNS} FROM models ORDER BY name")
        while batch := cursor.fetchmany(5000):
            for row in batch:
                f = self.facts(row)
                index.setdefault(model_key(row[1]), f)
                if row[7]:
                    repos.append((model_key(row[7]), f))
        for key, f in repos:
            index.setdefault(key, f)
        return index

    def get(self, key: str) -> Any:
        """The model a base-model reference names, matched as ``load_facts`` indexes
        them (by ``model_key``): a catalog name first, then a repo id."""
        if key in self.by_key:
            return self.by_key[key]
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM models WHERE name_key = ? ORDER BY name",
                                 (key,)).fetchall()
        if not rows:
            rows = self.conn.execute(f"SELECT {_COLUMNS} FROM models WHERE repo_key = ? ORDER BY name",
                                     (key,)).fetchall()
        found = self.facts(rows[0]) if rows else None
        self.by_key[key] = found
        return found


def iter_check_all(location: str, use: Any, policy: Any) -> tuple[Any, Any] | None:
    """Every model's decision, one at a time (``check-license --all --json`` at any
    size), and a function giving the policy's unmatched waivers once they are read;
    None when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None

    def decisions() -> Any:
        import datetime as dt

        from .decide import Decider, decide_model
        from .licenses import knowledge_base
        from .policy import apply_policy

        try:
            need_runs = bool(policy and (policy.rules.require_verified or policy.rules.require_smoke_test))
            source = _Facts(conn, need_runs)
            index = source.preload()  # every base a lineage may reach, by model_key, as load_facts keys them
            decider = Decider(knowledge_base(), use)
            now = dt.datetime.now(dt.timezone.utc)
            for name in list(source.by_name):
                f = source.by_name[name]
                row = source.rows.pop(name)
                d = decide_model(f, decider, index)
                if policy is not None:
                    d = apply_policy(d, f, policy, now, {a.lower() for a in (row[1], row[7]) if a})
                yield d
        except sqlite3.Error as exc:
            from .errors import CatalogError

            raise CatalogError(f"reading the catalog {location} failed: {exc}") from None

    def unmatched() -> tuple[Any, ...]:
        try:
            return tuple(w for w in policy.waivers if not _names_a_model(conn, w)) if policy else ()
        finally:
            conn.close()

    return decisions(), unmatched


def check_names(location: str, refs: list[str], use: Any, policy: Any) -> Any:
    """``check_licenses`` for the named models, or None when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None
    try:
        return _check(conn, refs, use, policy)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, refs: list[str] | None, use: Any, policy: Any) -> Any:
    import datetime as dt

    from .checks import CheckResult
    from .decide import Decider, decide_model
    from .licenses import knowledge_base

    need_runs = bool(policy and (policy.rules.require_verified or policy.rules.require_smoke_test))
    source = _Facts(conn, need_runs)
    chosen: list[Any] = []
    if refs is None:  # every model, in one read
        chosen = [source.facts(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM models ORDER BY name")]
    for ref in refs or ():
        row = find(conn, ref)
        if row is None:
            return None
        facts = source.facts(row)
        if facts not in chosen:
            chosen.append(facts)
    decider = Decider(knowledge_base(), use)
    now = dt.datetime.now(dt.timezone.utc)
    decisions = []
    for f in chosen:
        d = decide_model(f, decider, source)  # type: ignore[arg-type]
        if policy is not None:
            from .policy import apply_policy

            row = source.rows[f.name]
            d = apply_policy(d, f, policy, now, {a.lower() for a in (row[1], row[7]) if a})
        decisions.append(d)
    unmatched: tuple[Any, ...] = ()
    if policy is not None:
        unmatched = tuple(w for w in policy.waivers if not _names_a_model(conn, w))
    return CheckResult(use, policy.path if policy else None, decisions, unmatched)


def _names_a_model(conn: sqlite3.Connection, waiver: Any) -> bool:
    key = waiver.model.lower()
    return conn.execute("SELECT 1 FROM models WHERE lower(name) = ? OR lower(repo_id) = ? LIMIT 1",
                        (key, key)).fetchone() is not None


# --- list and show ------------------------------------------------------------------


def list_rows(location: str, *, category: str | None, license: str | None,
              use: Any = None, policy: Any = None) -> tuple[list[Any], Any] | None:
    """``list_models`` (and, with a ``use``, every model's decision, from the same
    snapshot) without the ORM, or None when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None
    try:
        return _list_rows(conn, category, license), (_check(conn, None, use, policy) if use is not None else None)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _list_rows(conn: sqlite3.Connection, category: str | None, license: str | None) -> list[Any]:
    from .records import ModelSummary

    where, args = _list_filter(category, license)
    rows = conn.execute("SELECT name, display_name, provider, category, license_id, license_declared, access, "
                        f"source_kind, repo_id, revision, task, architecture FROM models{where} ORDER BY name",
                        args).fetchall()
    return [ModelSummary(name=r[0], display_name=r[1], provider=r[2], category=r[3], license=r[4] or r[5],
                         access=r[6], source=r[7], repo_id=r[8], revision=r[9], task=r[10], architecture=r[11])
            for r in rows]


# `list --json` without a use: each item's text made by SQLite itself, as emit_json_list
# writes ``ModelSummary.to_dict()`` (these columns have TEXT affinity: a value is text or
# NULL, and json_quote escapes exactly as Python's encoder does; a test compares them)
LIST_JSON_FIELDS = {
    "name": "name", "display_name": "display_name", "provider": "provider", "category": "category",
    "license": "coalesce(nullif(license_id, ''), license_declared)",  # license_id or license_declared
    "access": "access", "source": "source_kind", "repo_id": "repo_id", "revision": "revision", "task": "task",
    "architecture": "architecture",
}


# values so common that their JSON text is written as a constant (any other value is quoted)
_COMMON_VALUES = {"category": ("commercial", "open-source", "custom", "unknown"), "access": ("open", "gated", "api"),
                  "source": ("hub", "local", "api", "none")}


def _json_text(key: str, expr: str) -> str:
    """SQL for the JSON text of ``expr``: json_quote, with constants for NULL and the
    commonest values first (a function call per value is most of the query's time)."""
    common = "".join(f" WHEN '{v}' THEN '\"{v}\"'" for v in _COMMON_VALUES.get(key, ()))
    if common:
        return f"CASE {expr}{common} ELSE json_quote({expr}) END"
    return f"CASE WHEN {expr} IS NULL THEN 'null' ELSE json_quote({expr}) END"


def list_json(location: str, *, category: str | None, license: str | None) -> Any:
    """``list --json`` (no use given) as pieces of text, streamed from one snapshot; None
    when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None
    layout = "  {\n" + ",\n".join(f'    "{key}": %s' for key in LIST_JSON_FIELDS) + "\n  }"
    values = ", ".join(_json_text(key, expr) for key, expr in LIST_JSON_FIELDS.items())
    try:
        where, args = _list_filter(category, license)
        # "+name": sorted by SQLite's sorter (which spills to disk past its cache, and may
        # use a second thread), not walked by the name index, which would read the table
        # in random order: 1.4x faster at 1M
        conn.execute("PRAGMA threads = 2")
        cursor = conn.execute(f"SELECT format('{layout}', {values}) FROM models{where} ORDER BY +name", args)
    except sqlite3.Error:
        conn.close()
        return None
    return _pieces(conn, cursor)


def _pieces(conn: sqlite3.Connection, cursor: sqlite3.Cursor) -> Any:
    from .errors import FmcatError

    try:
        first = True
        while rows := cursor.fetchmany(2000):
            yield ("[\n" if first else ",\n") + ",\n".join([r[0] for r in rows])
            first = False
        yield "[]\n" if first else "\n]\n"
    except sqlite3.Error as exc:
        raise FmcatError(f"the catalog has a row that cannot be read as text: {exc}") from None
    finally:
        conn.close()


def _list_filter(category: str | None, license: str | None) -> tuple[str, list[Any]]:
    where, args = [], []
    if category:
        where.append("category = ?")
        args.append(category)
    if license:
        from .errors import InvalidInput
        from .licenses import knowledge_base

        try:
            resolved = knowledge_base().resolve(license)
        except InvalidInput:
            resolved = None
        wanted = resolved.license_id if resolved and resolved.license_id else license
        where.append("(license_id = ? OR license_declared = ?)")
        args += [wanted, license]
    return (" WHERE " + " AND ".join(where) if where else ""), args


# the columns `show` reports of each run, in the ORM's order (a test keeps them in step)
VERIFICATION_DETAIL = ("revision", "summary", "files", "fmcat_version")
SMOKE_DETAIL = ("revision", "reason", "device", "device_name", "dtype", "versions", "load_seconds",
                "inference_seconds", "throughput", "throughput_unit", "peak_memory_bytes", "output_check",
                "output_digest", "trust_remote_code", "fmcat_version", "node")
_JSON_COLUMNS = frozenset({"files", "versions", "output_check"})
_BOOL_COLUMNS = frozenset({"trust_remote_code"})


def _when(value: Any) -> str | None:
    import datetime as dt

    from .records import _iso

    if value is None:
        return None
    return _iso(value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value)))


def _detail_value(col: str, value: Any) -> Any:
    if col in _JSON_COLUMNS:
        return _json(value, None)
    if col in _BOOL_COLUMNS:
        return None if value is None else bool(value)
    return value


def detail(location: str, ref: str) -> Any:
    """``model_detail`` without the ORM, or None when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None
    try:
        return _detail(conn, ref)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _detail(conn: sqlite3.Connection, ref: str) -> Any:
    from .records import FileRecord, LicenseEvidence, ModelDetail, RunRecord

    found = find(conn, ref)
    if found is None:
        return None
    mid = found[0]
    conn.row_factory = sqlite3.Row
    m = conn.execute("SELECT * FROM models WHERE id = ?", (mid,)).fetchone()
    files = conn.execute("SELECT path, size, sha256, blob_id, is_lfs, details FROM model_files "
                         "WHERE model_id = ? ORDER BY path", (mid,)).fetchall()
    observations = conn.execute("SELECT observed_at, source, declared, license_id, revision, text_sha256, note "
                                "FROM license_observations WHERE model_id = ? ORDER BY id", (mid,)).fetchall()
    runs = {}
    for table, cols in (("verifications", VERIFICATION_DETAIL), ("smoke_tests", SMOKE_DETAIL)):
        runs[table] = [
            RunRecord("verification" if table == "verifications" else "smoke-test", _when(r["started_at"]),
                      _when(r["finished_at"]), r["status"], {c: _detail_value(c, r[c]) for c in cols})
            for r in conn.execute(f"SELECT * FROM {table} WHERE model_id = ? ORDER BY id", (mid,))
        ]
    return ModelDetail(
        name=m["name"], display_name=m["display_name"], provider=m["provider"], category=m["category"],
        license=m["license_id"] or m["license_declared"], license_declared=m["license_declared"],
        license_name=m["license_name"], license_link=m["license_link"], license_source=m["license_source"],
        license_text_sha256=m["license_text_sha256"], access=m["access"], gated=m["gated"],
        source=m["source_kind"], repo_id=m["repo_id"], revision=m["revision"], local_path=m["local_path"],
        task=m["task"], architecture=m["architecture"], library_name=m["library_name"],
        base_models=list(_json(m["base_models"], []) or []), base_model_relation=m["base_model_relation"],
        datasets=list(_json(m["datasets"], []) or []), has_remote_code=bool(m["has_remote_code"]),
        origin=m["origin"], sources=dict(_json(m["facts"], {}) or {}),
        unconfirmed=list(_json(m["unconfirmed"], []) or []), card=dict(_json(m["card"], {}) or {}),
        created_at=_when(m["created_at"]), updated_at=_when(m["updated_at"]),
        files=[FileRecord(f["path"], f["size"], f["sha256"], f["blob_id"], bool(f["is_lfs"]),
                          _json(f["details"], None)) for f in files],
        license_evidence=[LicenseEvidence(_when(o["observed_at"]), o["source"], o["declared"], o["license_id"],
                                          o["revision"], o["text_sha256"], o["note"]) for o in observations],
        verifications=runs["verifications"], smoke_tests=runs["smoke_tests"],
    )


# --- export -------------------------------------------------------------------------

_EXPORT_COLUMNS = ("id, name, display_name, provider, license_id, license_declared, category, license_name, "
                   "license_link, access, repo_id, revision, local_path, task, architecture, library_name, "
                   "base_models, base_model_relation, datasets, gated, has_remote_code, facts, unconfirmed, card, "
                   "origin")


def iter_export(location: str) -> Any:
    """Every entry as ``export_entries`` gives it, one at a time, from one snapshot; None
    when the full path must answer. Files are read in the same order, in one pass."""
    conn = connect(location)
    if conn is None:
        return None
    return _export(conn)


def _export(conn: sqlite3.Connection) -> Any:
    try:
        models = conn.execute(f"SELECT {_EXPORT_COLUMNS} FROM models ORDER BY name")
        files = conn.cursor().execute(
            "SELECT models.name, f.path, f.size, f.sha256, f.blob_id, f.is_lfs, f.details FROM model_files AS f "
            "JOIN models ON models.id = f.model_id ORDER BY models.name, f.path")
        pending = files.fetchone()
        while batch := models.fetchmany(2000):
            for m in batch:
                entry_files = []
                while pending is not None and pending[0] == m[1]:
                    _, path, size, sha, blob, lfs, details = pending
                    f = {"path": path, "size": size, "sha256": sha, "blob_id": blob, "lfs": bool(lfs)}
                    details = _json(details, None)
                    if details:
                        f["details"] = details
                    entry_files.append(f)
                    pending = files.fetchone()
                yield _entry(m, entry_files)
    finally:
        conn.close()


def _entry(m: tuple[Any, ...], files: list[dict[str, Any]]) -> dict[str, Any]:
    bases = list(_json(m[16], []) or [])
    entry: dict[str, Any] = {
        "name": m[1], "display_name": m[2], "provider": m[3], "license": m[4] or m[5], "category": m[6],
        "license_name": m[7], "license_link": m[8], "access": m[9], "repo_id": m[10], "revision": m[11],
        "local_path": m[12], "task": m[13], "architecture": m[14], "library_name": m[15],
        "base_model": None if not bases else bases[0] if len(bases) == 1 else bases,
        "base_model_relation": m[17], "datasets": list(_json(m[18], []) or []), "gated": m[19],
        "has_remote_code": bool(m[20]), "sources": dict(_json(m[21], {}) or {}),
        "unconfirmed": list(_json(m[22], []) or []), "card": dict(_json(m[23], {}) or {}), "origin": m[24],
        "files": files,
    }
    return {k: v for k, v in entry.items() if v not in (None, [], {}) or k == "files"}


# --- the license report -------------------------------------------------------------


def report_parts(location: str, use: Any, policy: Any, catalog: str) -> tuple[dict[str, Any], Any] | None:
    """The report's header (everything but ``models``) and its model rows, one at a
    time, in the report's order; None when the full path must answer.

    Two passes over one snapshot: the first decides every model for the summary and
    the order (attention first, then by name), keeping only the order and the
    counts; the second reads each model with its files, evidence and runs in that
    order (a temporary table holds it) and decides it again, so no more than one
    model's row is ever held."""
    conn = connect(location)
    if conn is None:
        return None
    try:
        header, order = _report_header(conn, use, policy, catalog)
    except sqlite3.Error:
        conn.close()
        return None
    return header, _report_rows(conn, order)


def _decider(conn: sqlite3.Connection, use: Any, policy: Any) -> Any:
    import datetime as dt

    from .decide import Decider, decide_model
    from .licenses import knowledge_base
    from .policy import apply_policy

    need_runs = bool(policy and (policy.rules.require_verified or policy.rules.require_smoke_test))
    source = _Facts(conn, need_runs)
    index = source.preload()
    decider = Decider(knowledge_base(), use)
    now = dt.datetime.now(dt.timezone.utc)

    def decide(name: str) -> Any:
        f = source.by_name[name]
        d = decide_model(f, decider, index)
        if policy is not None:
            row = source.rows[name]
            d = apply_policy(d, f, policy, now, {a.lower() for a in (row[1], row[7]) if a})
        return d

    return source, decide


def _report_header(conn: sqlite3.Connection, use: Any, policy: Any, catalog: str) -> tuple[dict[str, Any], Any]:
    from .report import order_key, report_header

    source, decide = _decider(conn, use, policy)
    keyed = []
    for name, f in source.by_name.items():
        d = decide(name)
        keyed.append((order_key(f.name, f.display_name, d.verdict, d.violations), name, f.category, d.verdict,
                      d.obligations, d.violations))
    keyed.sort(key=lambda k: k[0])
    header = report_header(use, policy, catalog, (k[1:] for k in keyed))
    return header, (source, decide, [k[1] for k in keyed])


def _report_rows(conn: sqlite3.Connection, order: Any) -> Any:
    from .report import ROW_COLUMNS, model_row

    source, decide, names = order
    try:
        conn.execute("CREATE TEMP TABLE fmcat_report_order (pos INTEGER PRIMARY KEY, model_id INTEGER NOT NULL)")
        conn.executemany("INSERT INTO fmcat_report_order VALUES (?, ?)",
                         ((i, source.rows[n][0]) for i, n in enumerate(names)))
        conn.row_factory = sqlite3.Row
        models = conn.execute("SELECT o.pos AS pos, m.* FROM fmcat_report_order o JOIN models m ON m.id = o.model_id "
                              "ORDER BY o.pos")
        files = _Merged(conn, "SELECT o.pos AS pos, f.path, f.size, f.sha256, f.blob_id, f.is_lfs, f.details "
                              "FROM fmcat_report_order o JOIN model_files f ON f.model_id = o.model_id "
                              "ORDER BY o.pos, f.path")
        evidence = _Merged(conn, "SELECT o.pos AS pos, e.* FROM fmcat_report_order o JOIN license_observations e "
                                 "ON e.model_id = o.model_id ORDER BY o.pos, e.id")
        checks = _Merged(conn, "SELECT o.pos AS pos, v.* FROM fmcat_report_order o JOIN verifications v "
                               "ON v.model_id = o.model_id ORDER BY o.pos, v.id")
        smokes = _Merged(conn, "SELECT o.pos AS pos, s.* FROM fmcat_report_order o JOIN smoke_tests s "
                               "ON s.model_id = o.model_id ORDER BY o.pos, s.id")
        json_columns = {"base_models", "datasets", "card", "facts", "unconfirmed"}
        for m in models:
            pos = m["pos"]
            last_v = (checks.take(pos) or [None])[-1]
            yield model_row(
                {c: _json(m[c], None) if c in json_columns else m[c] for c in ROW_COLUMNS}, decide(m["name"]),
                files=[{"path": f["path"], "size": f["size"], "sha256": f["sha256"], "blob_id": f["blob_id"],
                        "lfs": bool(f["is_lfs"]), "details": _json(f["details"], None)} for f in files.take(pos)],
                evidence=[{"source": o["source"], "declared": o["declared"], "license": o["license_id"],
                           "revision": o["revision"], "observed_at": _when(o["observed_at"]), "note": o["note"]}
                          for o in evidence.take(pos)],
                verification=({"status": last_v["status"], "at": _when(last_v["finished_at"] or last_v["started_at"]),
                               "summary": last_v["summary"], "revision": last_v["revision"]} if last_v else None),
                smoke_tests=[_smoke_row(s) for s in smokes.take(pos)],
            )
    finally:
        conn.close()


def _smoke_row(s: Any) -> dict[str, Any]:
    return {"status": s["status"], "device": s["device"], "device_name": s["device_name"], "dtype": s["dtype"],
            "at": _when(s["finished_at"] or s["started_at"]), "reason": s["reason"],
            "load_seconds": s["load_seconds"], "inference_seconds": s["inference_seconds"],
            "throughput": s["throughput"], "throughput_unit": s["throughput_unit"],
            "peak_memory_bytes": s["peak_memory_bytes"], "versions": dict(_json(s["versions"], {}) or {})}


class _Merged:
    """Rows of a query ordered by ``pos``, handed out a position at a time (a merge join
    with the models cursor, so no model's children are held longer than its row)."""

    def __init__(self, conn: sqlite3.Connection, query: str) -> None:
        self.cursor = conn.cursor()
        self.cursor.row_factory = sqlite3.Row
        self.cursor.execute(query)
        self.pending = self.cursor.fetchone()

    def take(self, pos: int) -> list[Any]:
        out = []
        while self.pending is not None and self.pending["pos"] <= pos:
            if self.pending["pos"] == pos:
                out.append(self.pending)
            self.pending = self.cursor.fetchone()
        return out


# --- pull and verify ----------------------------------------------------------------


def plans(location: str, refs: list[str] | None) -> list[Any] | None:
    """``weights.plan`` without the ORM (the named models, or all for None), or None
    when the full path must answer."""
    conn = connect(location)
    if conn is None:
        return None
    try:
        from .weights import make_plan

        if refs is None:
            ids = [r[0] for r in conn.execute("SELECT id FROM models ORDER BY name")]
        else:
            ids = []
            for ref in refs:
                row = find(conn, ref)
                if row is None:
                    return None
                if row[0] not in ids:
                    ids.append(row[0])
        out = []
        for mid in ids:
            (name, source, access, repo_id, revision, local_path, code, lic, declared, gated, task,
             arch) = conn.execute(
                "SELECT name, source_kind, access, repo_id, revision, local_path, has_remote_code, license_id, "
                "license_declared, gated, task, architecture FROM models WHERE id = ?", (mid,)).fetchone()
            files = tuple({"path": p, "size": size, "sha256": sha, "blob_id": blob, "details": _json(d, None)}
                          for p, size, sha, blob, d in conn.execute(
                              "SELECT path, size, sha256, blob_id, details FROM model_files WHERE model_id = ? "
                              "ORDER BY path", (mid,)))
            last = conn.execute("SELECT status, revision, files FROM verifications WHERE model_id = ? "
                                "ORDER BY id DESC LIMIT 1", (mid,)).fetchone()
            failed: tuple[str, ...] = ()
            if last and last[0] == "failed" and last[1] == revision:
                failed = tuple(f["path"] for f in _json(last[2], []) or () if f.get("status") == "failed")
            out.append(make_plan(name=name, source=source, access=access, repo_id=repo_id, revision=revision,
                                 local_path=local_path, has_remote_code=bool(code), files=files,
                                 license=lic or declared, gated=gated, task=task, architecture=arch,
                                 failed_files=failed))
        return out
    except sqlite3.Error:
        return None
    finally:
        conn.close()
