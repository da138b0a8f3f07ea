"""Errors a person running `opsdrill` can cause, said in one line instead of a traceback."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# asyncpg's classes, by name: the CLI should not import the PostgreSQL driver to explain it.
_NO_DATABASE = "InvalidCatalogNameError"
_NO_ROLE = "InvalidAuthorizationSpecificationError"
_BAD_PASSWORD = "InvalidPasswordError"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain_database_error(exc: BaseException, database_url: str) -> str | None:
    """One line saying what is wrong with the database and how to fix it, or None when `exc`
    is not about reaching the database."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    shown = url.render_as_string(hide_password=True)
    for cause in _chain(exc):
        name = type(cause).__name__
        if name == _NO_DATABASE:
            create = ["createdb"]
            if url.host:
                create += ["-h", url.host]
            if url.port:
                create += ["-p", str(url.port)]
            if url.username:
                create += ["-U", url.username]
            create.append(url.database or "opsdrill")
            return (
                f"The database {url.database!r} does not exist on {url.host or 'localhost'}: "
                f"create it with `{' '.join(create)}` (or point DATABASE_URL elsewhere)."
            )
        if name in (_NO_ROLE, _BAD_PASSWORD):
            return f"The database refused the login in DATABASE_URL ({shown}): {cause}."
        if isinstance(cause, socket.gaierror):
            return f"Cannot find the database host {url.host!r} in DATABASE_URL ({shown})."
        if isinstance(cause, ConnectionError | TimeoutError):
            return (
                f"Cannot reach the database at {shown}: is it running, and is DATABASE_URL right?"
            )
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return (
                f"Cannot open the SQLite database at {url.database!r}: does its directory "
                "exist, and may you write there?"
            )
    return None
