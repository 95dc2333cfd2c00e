"""A throwaway PostgreSQL cluster for tests: `initdb` into a temporary folder, the server on a
free 127.0.0.1 port (and a Unix socket in that folder), stopped and removed afterwards.

The binaries are Debian's (`make postgres` installs the `postgresql` package): the folder
`pg_config --bindir` names, else /usr/lib/postgresql/<newest>/bin. initdb and the server
refuse to run as root: when the tests run as root, both run as the `postgres` user
(`runuser -u postgres --`) on a folder chowned to it. Password authentication only
(scram-sha-256), with a fresh password that no command line shows.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from urllib.parse import quote

from scripts.services import free_port
from telecom.secrets import new_secret

SUPERUSER = "postgres"


def bindir() -> pathlib.Path | None:
    """Where initdb and pg_ctl are, or None when PostgreSQL is not installed."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if found and (pathlib.Path(found) / "pg_ctl").exists():
            return pathlib.Path(found)
    versions = sorted(
        pathlib.Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A running cluster for as long as the context lasts; yields the superuser's URL to its
    `postgres` database (postgresql://postgres:…@127.0.0.1:port/postgres)."""
    bin_dir = bindir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run `make postgres` (apt postgresql)")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", SUPERUSER, "--"] if as_root else []
    base = pathlib.Path(tempfile.mkdtemp(prefix="pg-test-"))
    data, log, password_file = base / "data", base / "server.log", base / "password"
    password = new_secret()
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    if as_root:
        user = pwd.getpwnam(SUPERUSER)
        for path in (base, password_file):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = free_port()
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        try:
            subprocess.run(
                [
                    *prefix,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
            password_file.unlink()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {base} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            subprocess.run(
                [*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
                check=True,
                capture_output=True,
            )
        except subprocess.CalledProcessError as error:
            detail = (error.stderr or b"").decode(errors="replace")
            raise RuntimeError(f"the test PostgreSQL did not start: {detail}{_tail(log)}") from None
        yield f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _tail(log: pathlib.Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextlib.contextmanager
def database(server_url: str) -> Iterator[str]:
    """A fresh, empty database on the cluster at `server_url`, dropped afterwards; yields its
    URL."""
    import sqlalchemy as sa

    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
