"""A real, throwaway PostgreSQL server on 127.0.0.1 for the health-check tests.

:func:`start_postgres` finds the server binaries (installing Debian's ``postgresql``
package when they are missing and we are root), runs ``initdb`` into a fresh temporary
directory, configures TLS with a certificate signed by a throwaway CA, allows only
``hostssl`` connections with SCRAM-SHA-256 passwords (or, with ``tls=False``, only
plaintext ``host`` connections with TLS off), listens on a free port of 127.0.0.1 and
starts the server with ``pg_ctl``. PostgreSQL refuses to run as root: as root, every server
command runs as the ``postgres`` user through ``runuser``.

Not a pytest plugin: test modules import it and build their own (module-scoped) fixtures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.native
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .debian import apt_install

ADMIN_USER = "dr_admin"
SERVER_USER = "postgres"  # the OS account that runs the server when we are root


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are missing and cannot be installed here."""


@dataclass
class PostgresServer:
    """A running server; :meth:`stop` removes it and its files."""

    bin_dir: Path
    base_dir: Path
    port: int
    tls: bool
    admin_password: str
    ca_file: Path | None
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def admin_connection(self) -> pg8000.native.Connection:
        context: ssl.SSLContext | bool = False
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.ca_file))
        return pg8000.native.Connection(
            user=ADMIN_USER,
            password=self.admin_password,
            host=self.host,
            port=self.port,
            database="postgres",
            ssl_context=context,
            timeout=10,
        )

    def create_login(self, user: str, password: str, database: str) -> None:
        """Create a login role and a database it owns."""
        conn = self.admin_connection()
        try:
            conn.run(
                f"CREATE ROLE {pg8000.native.identifier(user)} LOGIN PASSWORD "
                f"{pg8000.native.literal(password)}"
            )
            conn.run(
                f"CREATE DATABASE {pg8000.native.identifier(database)} "
                f"OWNER {pg8000.native.identifier(user)}"
            )
        finally:
            conn.close()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        pg_ctl = str(self.bin_dir / "pg_ctl")
        stop = [pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"]
        with contextlib.suppress(subprocess.SubprocessError, OSError, RuntimeError):
            _run_as_server_user(stop, timeout=60)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl, if PostgreSQL is installed."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0,
    )
    for initdb in reversed(candidates):
        bin_dir = Path(initdb).parent
        if (bin_dir / "pg_ctl").exists():
            return bin_dir
    return None


def ensure_postgres_binaries() -> Path:
    """Find PostgreSQL, installing Debian's ``postgresql`` package if needed (as root)."""
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    apt_install("postgresql", PostgresUnavailable)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("postgresql was installed but initdb/pg_ctl are not found")
    return bin_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_ca_and_server_cert(directory: Path, *, name: str = "dr-test") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it.

    Returns (ca.crt, server.crt, server.key).
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / f"{name}-ca.crt"
    cert_file = directory / "server.crt"
    key_file = directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)  # PostgreSQL refuses a key readable by group or others
    return ca_file, cert_file, key_file


def start_postgres(*, tls: bool = True) -> PostgresServer:
    """initdb, configure and start a server; the caller must call ``stop()``."""
    bin_dir = ensure_postgres_binaries()
    base = Path(tempfile.mkdtemp(prefix="dr-health-pg-"))
    try:
        base.chmod(0o755)
        admin_password = secrets.token_urlsafe(24)
        password_file = base / "admin.pw"
        password_file.write_text(admin_password + "\n")
        ca_file: Path | None = None
        if tls:
            ca_file, _, _ = write_ca_and_server_cert(base)
        _chown_to_server_user(base)
        data = base / "data"
        _run_as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                f"--username={ADMIN_USER}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            timeout=120,
        )
        password_file.unlink()
        port = free_port()
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            "unix_socket_directories = ''",
            "password_encryption = 'scram-sha-256'",
            "max_connections = 20",
            "shared_buffers = '16MB'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "log_connections = on",
        ]
        if tls:
            for name in ("server.crt", "server.key"):
                shutil.move(base / name, data / name)
            settings += [
                "ssl = on",
                "ssl_cert_file = 'server.crt'",
                "ssl_key_file = 'server.key'",
                "ssl_min_protocol_version = 'TLSv1.2'",
            ]
        else:
            settings.append("ssl = off")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# dr-constructs health-check tests\n" + "\n".join(settings) + "\n")
        hba_type = "hostssl" if tls else "host"
        (data / "pg_hba.conf").write_text(f"{hba_type} all all 127.0.0.1/32 scram-sha-256\n")
        _chown_to_server_user(base)
        _run_as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )
    except BaseException:
        log = base / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        if detail:
            raise RuntimeError(f"PostgreSQL did not start; server log:\n{detail}") from None
        raise
    return PostgresServer(
        bin_dir=bin_dir,
        base_dir=base,
        port=port,
        tls=tls,
        admin_password=admin_password,
        ca_file=ca_file,
    )


def _needs_server_user() -> bool:
    return os.geteuid() == 0


def _chown_to_server_user(path: Path) -> None:
    if not _needs_server_user():
        return
    account = pwd.getpwnam(SERVER_USER)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(name, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), account.pw_uid, account.pw_gid)


def _run_as_server_user(command: Sequence[str], *, timeout: float) -> Any:
    argv = list(command)
    if _needs_server_user():
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root but there is no {SERVER_USER!r} user to run PostgreSQL"
            ) from None
        # util-linux's runuser lives in sbin, which a minimal PATH may leave out
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        if runuser is None:
            raise PostgresUnavailable("running as root but util-linux's runuser is not found")
        argv = [runuser, "-u", SERVER_USER, "--", *argv]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result
