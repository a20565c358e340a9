"""The index in one SQLite file, shared safely by several worker processes on one machine.

WAL lets readers work while one process writes; every change runs in `BEGIN IMMEDIATE`, so the
check of the recorded sequencer and the write that follows are one step for all processes;
a busy timeout makes the others wait instead of failing. Commits are `synchronous=FULL`: a
failure record must survive a crash before its message is poisoned.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dicomidx.errors import ConfigurationError, UserError
from dicomidx.index.store import (
    ATTRIBUTES,
    Change,
    Failure,
    Instance,
    InstanceQuery,
    attribute_values,
    compare_sequencers,
)

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS instances (
    path TEXT PRIMARY KEY,
    sequencer TEXT,
    etag TEXT,
    size INTEGER,
    event_id TEXT,
    indexed_at TEXT NOT NULL,
    deleted_at TEXT,
    {", ".join(f"{name} TEXT" for name in ATTRIBUTES)}
);
CREATE UNIQUE INDEX IF NOT EXISTS instances_sop_instance
    ON instances (sop_instance_uid) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS instances_study ON instances (study_uid, series_uid);
CREATE INDEX IF NOT EXISTS instances_patient ON instances (patient_id);
CREATE INDEX IF NOT EXISTS instances_study_date ON instances (study_date);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    poison_message_id TEXT,
    queue TEXT NOT NULL,
    poison_queue TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    event_id TEXT,
    event_type TEXT,
    path TEXT,
    error_class TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at TEXT NOT NULL,
    resolved_at TEXT,
    resolution TEXT
);
CREATE INDEX IF NOT EXISTS failures_poison_message ON failures (poison_message_id);
CREATE INDEX IF NOT EXISTS failures_body ON failures (body_sha256);
CREATE INDEX IF NOT EXISTS failures_event ON failures (event_id);
"""
_INSTANCE_COLUMNS = ("path", *ATTRIBUTES, "etag", "size", "sequencer", "event_id", "indexed_at")
_FAILURE_COLUMNS = (
    "message_id",
    "queue",
    "poison_queue",
    "body_sha256",
    "error_class",
    "code",
    "message",
    "attempts",
    "failed_at",
    "event_id",
    "event_type",
    "path",
    "poison_message_id",
    "resolved_at",
    "resolution",
    "id",
)

# Column names below come from the constants above, never from input: the f-strings are safe.
_PUT_INSTANCE = (
    f"INSERT OR REPLACE INTO instances ({', '.join(_INSTANCE_COLUMNS)}, deleted_at) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_INSTANCE_COLUMNS))}, NULL)"
)
_DELETE_INSTANCE = (
    "UPDATE instances SET sequencer = ?, event_id = ?, deleted_at = ?, etag = NULL, "  # noqa: S608
    f"size = NULL, {', '.join(f'{name} = NULL' for name in ATTRIBUTES)} WHERE path = ?"
)
_SELECT_INSTANCES = f"SELECT {', '.join(_INSTANCE_COLUMNS)} FROM instances WHERE "  # noqa: S608
_RECORD_FAILURE = (
    f"INSERT INTO failures ({', '.join(_FAILURE_COLUMNS[:-1])}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_FAILURE_COLUMNS[:-1]))}) ON CONFLICT (message_id) DO UPDATE "
    f"SET {', '.join(f'{name} = excluded.{name}' for name in _FAILURE_COLUMNS[1:-1])}"
)
_SELECT_FAILURES = f"SELECT {', '.join(_FAILURE_COLUMNS)} FROM failures "  # noqa: S608
_FAILURE_KEYS = ("poison_message_id", "body_sha256", "event_id")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SqliteIndex:
    """IndexStore on SQLite. One connection per object, shared by its threads under a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
        except sqlite3.Error as error:
            raise ConfigurationError(
                f"cannot open the index {str(self.path)!r}: {error}"
            ) from error
        self._lock = threading.RLock()
        self._db.row_factory = sqlite3.Row
        self._setup()

    def _setup(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise ConfigurationError(f"the index {str(self.path)!r} cannot use WAL journaling")
        db.execute("PRAGMA synchronous = FULL")

        with self._transaction():
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the index {str(self.path)!r} was made by a newer dicomidx "
                    f"(schema {version}, this one knows {SCHEMA_VERSION})"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if version == 1:  # schema 2 records what became of a failure's poison message
                db.execute("ALTER TABLE failures ADD COLUMN resolved_at TEXT")
                db.execute("ALTER TABLE failures ADD COLUMN resolution TEXT")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Instances

    def sequencer_at(self, path: str) -> tuple[str | None, bool] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT sequencer, deleted_at FROM instances WHERE path = ?", (path,)
            ).fetchone()
        return None if row is None else (row["sequencer"], row["deleted_at"] is None)

    def put_instance(self, instance: Instance) -> Change:
        with self._transaction() as db:
            row = db.execute(
                "SELECT sequencer, etag, deleted_at FROM instances WHERE path = ?",
                (instance.path,),
            ).fetchone()
            order = _order(instance.sequencer, row)
            if order is not None:
                return order
            if _same_version(instance, row):
                return Change.DUPLICATE

            other = db.execute(
                "SELECT path FROM instances WHERE sop_instance_uid = ? AND deleted_at IS NULL "
                "AND path != ?",
                (instance.sop_instance_uid, instance.path),
            ).fetchone()
            if other is not None:
                raise UserError(
                    "instance-exists",
                    f"the SOP Instance UID of this file is already indexed at {other['path']!r}",
                    hint="delete one of the two files; STOW-RS refuses such a duplicate too",
                )

            values = (
                instance.path,
                *attribute_values(instance),
                instance.etag,
                instance.size,
                instance.sequencer,
                instance.event_id,
                instance.indexed_at or now(),
            )
            db.execute(_PUT_INSTANCE, values)
        return Change.INDEXED

    def delete_instance(self, path: str, *, sequencer: str | None, event_id: str | None) -> Change:
        with self._transaction() as db:
            row = db.execute(
                "SELECT sequencer, etag, deleted_at FROM instances WHERE path = ?", (path,)
            ).fetchone()
            order = _order(sequencer, row)
            if order is not None:
                return order

            stamp = now()
            if row is None:
                db.execute(
                    "INSERT INTO instances (path, sequencer, event_id, indexed_at, deleted_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (path, sequencer, event_id, stamp, stamp),
                )
                return Change.TOMBSTONED

            db.execute(_DELETE_INSTANCE, (sequencer, event_id, stamp, path))
        return Change.TOMBSTONED if row["deleted_at"] is not None else Change.REMOVED

    def instances(self, query: InstanceQuery | None = None) -> list[Instance]:
        query = query or InstanceQuery()
        where: list[str] = ["deleted_at IS NULL"]
        values: list[Any] = []
        for column, value in (
            ("study_uid", query.study_uid),
            ("series_uid", query.series_uid),
            ("patient_id", query.patient_id),
            ("modality", query.modality),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                values.append(value)
        if query.study_date_from is not None:
            where.append("study_date >= ?")
            values.append(query.study_date_from)
        if query.study_date_to is not None:
            where.append("study_date <= ?")
            values.append(query.study_date_to)

        sql = (
            f"{_SELECT_INSTANCES}{' AND '.join(where)} ORDER BY study_uid, series_uid, path LIMIT ?"
        )
        values.append(-1 if query.limit is None else query.limit)
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [Instance(**dict(row)) for row in rows]

    # Failures

    def record_failure(self, failure: Failure) -> None:
        values = [getattr(failure, name) for name in _FAILURE_COLUMNS[:-1]]
        with self._transaction() as db:
            db.execute(_RECORD_FAILURE, values)

    def mark_poisoned(self, message_id: str, poison_message_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE failures SET poison_message_id = ? WHERE message_id = ?",
                (poison_message_id, message_id),
            )

    def failures(self, *, limit: int | None = None, resolved: bool = False) -> list[Failure]:
        where = "" if resolved else "WHERE resolved_at IS NULL "
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT_FAILURES}{where}ORDER BY failed_at, id LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [Failure(**dict(row)) for row in rows]

    def resolve_failure(self, failure_id: int, resolution: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE failures SET resolved_at = ?, resolution = ? "
                "WHERE id = ? AND resolved_at IS NULL",
                (now(), resolution, failure_id),
            )

    def find_failure(
        self,
        *,
        poison_message_id: str | None = None,
        body_sha256: str | None = None,
        event_id: str | None = None,
    ) -> Failure | None:
        for column, value in zip(
            _FAILURE_KEYS, (poison_message_id, body_sha256, event_id), strict=True
        ):
            if value is None:
                continue
            with self._lock:
                row = self._db.execute(
                    f"{_SELECT_FAILURES}WHERE {column} = ? AND resolved_at IS NULL "
                    "ORDER BY failed_at DESC, id DESC LIMIT 1",
                    (value,),
                ).fetchone()
            if row is not None:
                return Failure(**dict(row))
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _same_version(instance: Instance, row: sqlite3.Row | None) -> bool:
    """Without sequencers, the same ETag at a live path is the same version."""
    if row is None or instance.sequencer is not None or row["deleted_at"] is not None:
        return False
    return row["etag"] is not None and row["etag"] == instance.etag


def _order(sequencer: str | None, row: sqlite3.Row | None) -> Change | None:
    """DUPLICATE or STALE when the recorded sequencer rules the event out, else None."""
    if row is None or sequencer is None or row["sequencer"] is None:
        return None

    compared = compare_sequencers(sequencer, row["sequencer"])
    if compared == 0:
        return Change.DUPLICATE
    return Change.STALE if compared < 0 else None
