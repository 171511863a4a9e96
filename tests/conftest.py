"""Every ledger test runs on SQLite and on a real PostgreSQL server.

PostgreSQL is reached through DONOR_LEDGER_TEST_PG (a server URL whose user may create
databases, e.g. postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql).
Without it the PostgreSQL half is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger.database import Ledger, make_engine
from ledger.migrate import upgrade

# The tests' ledgers are opened first by "officer", their admin; a command run without --user acts
# as that user too (someone who is not a user of a ledger is refused every command)
os.environ["DONOR_LEDGER_USER"] = "officer"
PG_URL = os.environ.get("DONOR_LEDGER_TEST_PG")
IN_CI = os.environ.get("CI") == "true"
BACKENDS = ["sqlite", "postgresql"]

# Property tests judge outcomes, not speed: a loaded CI machine must not fail them on time.
settings.register_profile("donor-ledger", deadline=None)
settings.load_profile("donor-ledger")


def pytest_collection_modifyitems(config, items):
    if PG_URL or not IN_CI:
        return
    raise pytest.UsageError("CI=true but DONOR_LEDGER_TEST_PG is not set: PostgreSQL tests must run in CI")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


class PostgresServer:
    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=None)
        self.template = f"dl_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = create_engine(self.url.set(database=self.template))
        upgrade(engine)
        engine.dispose()
        self.created: list[str] = []

    def new_database(self, empty: bool = False) -> str:
        """A URL of a new, uniquely named database, dropped when the session ends: a copy of
        the migrated template, or an empty database to migrate step by step."""
        name = f"dl_{uuid.uuid4().hex[:12]}"
        copy = "" if empty else f' TEMPLATE "{self.template}"'
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in [*self.created, self.template]:
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server():
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set DONOR_LEDGER_TEST_PG)")
    server = PostgresServer(PG_URL)
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A URL of a new, migrated, empty ledger on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.new_database()
        yield url
        server.drop(make_url(url).database)


@pytest.fixture
def sqlite_url(request, tmp_path):
    path = tmp_path / "ledger.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def ledger(db_url):
    """An open ledger on each backend; the acting user (first user) is admin."""
    opened = Ledger(db_url, user="officer")
    yield opened
    opened.close()
