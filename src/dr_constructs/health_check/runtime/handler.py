"""Health check for the DR platform's VPC Lambda.

The function runs in isolated subnets (no NAT). It proves, on every invocation, that each
dependency of the data tier is reachable and working:

* ``secret``: the Aurora secret is readable through the Secrets Manager interface endpoint
  and holds what a PostgreSQL client needs (only the field *names* are reported);
* ``database``: a TLS connection to Aurora PostgreSQL (pg8000) answers a query, the
  server's own ``pg_stat_ssl`` row for this session says the connection is encrypted, and
  a heartbeat row is written to the table ``dr_constructs.heartbeat`` (created on the first
  run with the read-only role ``dr_restore_validator``: see :data:`HEARTBEAT_SQL`), then
  read back; the restored copy of the database carries
  the newest of these rows, which is how old its data is;
* ``dynamodb``: a heartbeat item is written, then read back with a consistent read
  (gateway endpoint);
* ``s3``: a heartbeat object under ``health-check/`` is written, then read back (gateway
  endpoint).

Invoked with ``{"verify_restored_cluster": {"endpoint": ..., "port": ...}}`` (the operator
command does, after a restore), it checks nothing else: it connects to that restored copy of
this stack's cluster as ``dr_restore_validator`` with an IAM token, proves the session is
encrypted and reads the newest heartbeat row (see :func:`verify_restored_cluster`).

Every check runs on its own and reports ``ok``, ``latency_ms`` and ``error``; a failing
dependency never raises out of :func:`handler`. Error messages are the exception class plus
its message, with the secret's password and username redacted; no value read from the
secret ever appears in the report.

Configuration (environment variables):

``DB_SECRET_ARN``
    ARN (or name) of the Aurora secret (the CDK-generated JSON: host, port, username,
    password, dbname, engine). Required for ``secret`` and ``database``.
``TABLE_NAME`` / ``TABLE_PARTITION_KEY`` (default ``pk``) / ``TABLE_SORT_KEY`` (optional)
    The DynamoDB table and its string key attribute names. Required for ``dynamodb``.
``BUCKET_NAME``
    The S3 bucket. Required for ``s3``.
``DB_HOST`` (optional)
    Connect here instead of the secret's host: the RDS Proxy endpoint, when there is one.
``DB_IAM_AUTH`` (optional, ``true``)
    Authenticate with an IAM token (``rds.generate_db_auth_token``, signed locally with the
    function's role) instead of the secret's password, as RDS Proxy with IAM auth requires.
``DB_TLS_CA_FILE`` (optional)
    A PEM CA bundle (for Aurora: the RDS global bundle) used to verify the server
    certificate and host name. Without it TLS is still *required* (a server that refuses
    TLS fails the check) but the certificate is not verified: the function has no route to
    the internet, so it cannot fetch the RDS CA bundle, and the Lambda runtime's trust store
    does not contain the RDS CAs. Ship the bundle with the code (or a layer) and point this
    variable at it to get verification.
``DB_CONNECT_TIMEOUT`` (default 5)
    Seconds for the PostgreSQL connect and each socket operation.
``HEALTH_CHECK_CONNECT_TIMEOUT`` (default 2), ``HEALTH_CHECK_READ_TIMEOUT`` (default 5),
``HEALTH_CHECK_MAX_ATTEMPTS`` (default 2)
    botocore connect/read timeouts in seconds and total attempts per AWS call, kept short so
    that a dead endpoint fails fast instead of eating the function's timeout.

This module depends only on the standard library at import time; boto3 (provided by the
Lambda runtime) and pg8000 (bundled with the code) are imported when first needed.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

__all__ = [
    "DEFAULT_PARTITION_KEY",
    "S3_PREFIX",
    "CheckResult",
    "ConnectFn",
    "HealthCheckError",
    "Settings",
    "build_ssl_context",
    "handler",
    "run_health_check",
    "verify_restored_cluster",
]

LOGGER = logging.getLogger(__name__)
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    # Lambda's root logger passes WARNING and up: log every report unless told otherwise.
    LOGGER.setLevel(logging.INFO)

DEFAULT_PARTITION_KEY: Final = "pk"
S3_PREFIX: Final = "health-check/"
HEARTBEAT_TTL_SECONDS: Final = 24 * 60 * 60
DEFAULT_DB_PORT: Final = 5432
DEFAULT_DB_NAME: Final = "postgres"
POSTGRES_ENGINES: Final = frozenset({"postgres", "postgresql", "aurora-postgresql"})
MAX_ERROR_LENGTH: Final = 500
REDACTED: Final = "***"

CHECK_NAMES: Final = ("secret", "database", "dynamodb", "s3")

DATABASE_QUERY: Final = (
    "SELECT 1, version(), pg_is_in_recovery(), s.ssl, s.version, s.cipher, s.bits "
    "FROM pg_stat_ssl AS s WHERE s.pid = pg_backend_pid()"
)

#: The heartbeat table: one row per health-check function (``writer``: its name), holding the
#: server's time of the last check (``checked_at``) and the nonce it wrote.
HEARTBEAT_TABLE: Final = "dr_constructs.heartbeat"
#: The database role a restore test reads the heartbeat as: it logs in with IAM database
#: authentication only (``rds_iam``), so no password exists to rotate or leak, and it can
#: only read the heartbeat table (every session read-only). The health check keeps it, so
#: every recovery point of the cluster carries it.
VALIDATOR_ROLE: Final = "dr_restore_validator"
#: True when the schema, table or validator role must still be created or granted (first
#: run, or after a manual drop): the steady state touches no catalog row.
HEARTBEAT_GUARD: Final = (
    f"SELECT CASE WHEN to_regclass('{HEARTBEAT_TABLE}') IS NULL THEN true "
    f"WHEN NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{VALIDATOR_ROLE}') THEN true "
    f"ELSE NOT has_table_privilege('{VALIDATOR_ROLE}', '{HEARTBEAT_TABLE}', 'SELECT') END"
)
#: Creates the schema, table and validator role once. The transaction lock serialises
#: concurrent first runs (two functions, or two invocations): without it PostgreSQL's
#: ``IF NOT EXISTS`` races and one fails with a unique violation on ``pg_namespace``.
HEARTBEAT_SQL: Final = (
    "SELECT pg_advisory_xact_lock(hashtext('dr_constructs.heartbeat'))",
    "CREATE SCHEMA IF NOT EXISTS dr_constructs",
    f"CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} ("
    "writer text PRIMARY KEY, checked_at timestamptz NOT NULL, nonce text NOT NULL)",
    f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{VALIDATOR_ROLE}') THEN "
    f"CREATE ROLE {VALIDATOR_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
    "CONNECTION LIMIT 5; END IF; END $$",
    f"ALTER ROLE {VALIDATOR_ROLE} SET default_transaction_read_only = on",
    f"GRANT rds_iam TO {VALIDATOR_ROLE}",
    f"GRANT USAGE ON SCHEMA dr_constructs TO {VALIDATOR_ROLE}",
    f"GRANT SELECT ON {HEARTBEAT_TABLE} TO {VALIDATOR_ROLE}",
)
#: The newest heartbeat row: what a restored copy's data is as recent as.
CANARY_READ: Final = (
    f"SELECT writer, checked_at FROM {HEARTBEAT_TABLE} ORDER BY checked_at DESC LIMIT 1"
)
#: The event key that asks for a restored copy's canary instead of the health check.
VERIFY_EVENT_KEY: Final = "verify_restored_cluster"
#: An Aurora cluster endpoint: ``<cluster>.cluster-<id>.<region>.rds.amazonaws.com`` (Aurora
#: User Guide, "Types of Aurora endpoints"). In the China Regions the host names put ``rds``
#: before the Region, ``....rds.cn-north-1.amazonaws.com.cn`` (the RDS service endpoint in the
#: China Regions' ARN guide is ``rds.cn-north-1.amazonaws.com.cn``, and deployed hosts read so).
#: AWS documents no China cluster-endpoint example, so both orders are accepted under both
#: suffixes. The part after the cluster's name is the same for every cluster of an account
#: and Region; it is what a restored copy must share with the stack's cluster.
CLUSTER_ENDPOINT: Final = re.compile(
    r"(?P<cluster>[a-z][a-z0-9-]{0,62})\.(?P<zone>cluster-[a-z0-9]+\."
    r"(?:[a-z0-9-]+\.rds|rds\.[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
)
#: Writes this function's row with the server's clock and returns what was stored.
HEARTBEAT_WRITE: Final = (
    f"INSERT INTO {HEARTBEAT_TABLE} AS h (writer, checked_at, nonce) "
    "VALUES (:writer, clock_timestamp(), :nonce) "
    "ON CONFLICT (writer) DO UPDATE SET checked_at = EXCLUDED.checked_at, nonce = EXCLUDED.nonce "
    "RETURNING checked_at, nonce"
)

Status = Literal["ok", "degraded", "failed"]
ConnectFn = Callable[..., Any]
"""Opens a PostgreSQL connection; called with pg8000.native.Connection's keyword arguments
(user, password, host, port, database, ssl_context, timeout, application_name). The result
needs ``run(sql, **parameters) -> list of rows`` and ``close()``."""


class HealthCheckError(Exception):
    """A dependency answered, but not with what the health check expected.

    ``details`` are facts gathered before the failure; they are kept in the report.
    """

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


@dataclass(frozen=True)
class Settings:
    """The health check's configuration, normally read from the environment."""

    db_secret_arn: str | None = None
    table_name: str | None = None
    table_partition_key: str = DEFAULT_PARTITION_KEY
    table_sort_key: str | None = None
    bucket_name: str | None = None
    db_tls_ca_file: str | None = None
    db_host: str | None = None
    db_iam_auth: bool = False
    db_connect_timeout: float = 5.0
    aws_connect_timeout: float = 2.0
    aws_read_timeout: float = 5.0
    aws_max_attempts: int = 2
    function_name: str = "local"
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; never raises (bad numbers fall back to defaults, with a warning)."""
        env = os.environ if environ is None else environ
        warnings: list[str] = []

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, default: float) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not value > 0 or value == float("inf"):
                warnings.append(f"{name}={raw!r} is not a positive number; using {default:g}")
                return default
            return value

        return cls(
            db_secret_arn=text("DB_SECRET_ARN"),
            table_name=text("TABLE_NAME"),
            table_partition_key=text("TABLE_PARTITION_KEY") or DEFAULT_PARTITION_KEY,
            table_sort_key=text("TABLE_SORT_KEY"),
            bucket_name=text("BUCKET_NAME"),
            db_tls_ca_file=text("DB_TLS_CA_FILE"),
            db_host=text("DB_HOST"),
            db_iam_auth=(text("DB_IAM_AUTH") or "").lower() == "true",
            db_connect_timeout=number("DB_CONNECT_TIMEOUT", 5.0),
            aws_connect_timeout=number("HEALTH_CHECK_CONNECT_TIMEOUT", 2.0),
            aws_read_timeout=number("HEALTH_CHECK_READ_TIMEOUT", 5.0),
            aws_max_attempts=max(1, int(number("HEALTH_CHECK_MAX_ATTEMPTS", 2))),
            function_name=text("AWS_LAMBDA_FUNCTION_NAME") or "local",
            warnings=tuple(warnings),
        )


@dataclass
class CheckResult:
    """One check's outcome; ``details`` are extra, non-secret facts merged into the report."""

    ok: bool = False
    latency_ms: float = 0.0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "latency_ms": round(self.latency_ms, 3),
            "error": self.error,
            **self.details,
        }


@dataclass(frozen=True)
class _DbCredentials:
    host: str
    port: int
    username: str
    password: str
    dbname: str

    @property
    def sensitive(self) -> tuple[str, ...]:
        """Values to redact from error messages (a very short username would garble them)."""
        values = [self.password]
        if len(self.username) >= 3:
            values.append(self.username)
        return tuple(value for value in values if value)


def handler(
    event: Any,
    context: Any,
    *,
    environ: Mapping[str, str] | None = None,
    session: Any = None,
    clients: Mapping[str, Any] | None = None,
    connect: ConnectFn | None = None,
) -> dict[str, Any]:
    """Lambda entry point: run every check and return the JSON-serialisable report.

    The event is ignored (what to check comes from the environment only), except
    ``{"verify_restored_cluster": {"endpoint", "port"}}``, which reads the canary of a
    restored copy of this stack's cluster and nothing else: :func:`verify_restored_cluster`
    refuses any other endpoint. The keyword arguments exist for tests and for
    callers that embed the check: ``environ`` replaces ``os.environ``, ``session`` is a
    boto3 session (anything with ``client(name, config=...)``), ``clients`` maps
    ``secretsmanager``/``dynamodb``/``s3`` to ready clients, and ``connect`` replaces
    ``pg8000.native.Connection``.
    """
    del context
    try:
        settings = Settings.from_env(environ)
        if isinstance(event, Mapping) and VERIFY_EVENT_KEY in event:
            report = verify_restored_cluster(
                settings, event[VERIFY_EVENT_KEY], session=session, clients=clients,
                connect=connect,
            )  # fmt: skip
            LOGGER.info("restored copy: %s", json.dumps(report, default=str))
            return report
        report = run_health_check(settings, session=session, clients=clients, connect=connect)
    except Exception as exc:  # last resort: the contract is "never raise"
        report = _failed_report(f"health check crashed: {_describe(exc)}")
    level = logging.INFO if report["status"] == "ok" else logging.WARNING
    LOGGER.log(level, "health check report: %s", json.dumps(report, default=str))
    return report


def run_health_check(
    settings: Settings,
    *,
    session: Any = None,
    clients: Mapping[str, Any] | None = None,
    connect: ConnectFn | None = None,
) -> dict[str, Any]:
    """Run the four checks (the secret then the database, DynamoDB and S3 in parallel)."""
    started = time.perf_counter()
    checked_at = _utc_now()
    aws = _AwsClients(settings, session=session, clients=clients)
    connect_fn = connect or _pg8000_connect

    def database_chain() -> tuple[CheckResult, CheckResult]:
        credentials: list[_DbCredentials] = []
        secret = _timed(lambda: _check_secret(settings, aws, credentials))
        if not credentials:
            database = CheckResult(
                error="not attempted: the database secret could not be read (see checks.secret)",
                details={"ssl": None, "tls_verified": settings.db_tls_ca_file is not None},
            )
            return secret, database
        creds = credentials[0]
        database = _timed(
            lambda: _check_database(settings, _through_proxy(settings, aws, creds), connect_fn),
            details={
                "ssl": None,
                "tls_verified": settings.db_tls_ca_file is not None,
                "via_proxy": settings.db_host is not None,
                "iam_auth": settings.db_iam_auth,
            },
            redact=creds.sensitive,
        )
        return secret, database

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="health-check") as pool:
        chain = pool.submit(database_chain)
        dynamodb = pool.submit(_timed, lambda: _check_dynamodb(settings, aws, checked_at))
        s3 = pool.submit(_timed, lambda: _check_s3(settings, aws, checked_at))
        secret, database = chain.result()
        results = {
            "secret": secret,
            "database": database,
            "dynamodb": dynamodb.result(),
            "s3": s3.result(),
        }

    checks = {name: results[name].to_dict() for name in CHECK_NAMES}
    return {
        "status": _overall_status(results.values()),
        "checked_at": _iso(checked_at),
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "function": settings.function_name,
        "checks": checks,
        "warnings": list(settings.warnings),
    }


def verify_restored_cluster(
    settings: Settings,
    request: Any,
    *,
    session: Any = None,
    clients: Mapping[str, Any] | None = None,
    connect: ConnectFn | None = None,
) -> dict[str, Any]:
    """Read the newest heartbeat row of a restored copy of this stack's cluster.

    ``request`` is ``{"endpoint": <cluster endpoint>, "port": <port>}``, with optionally
    ``restored_at`` and ``job_created_at`` (ISO 8601) to measure the copy's data age and time
    to usable (see :func:`_measured`). The endpoint must be
    another cluster's endpoint in the same account and Region as the cluster of the secret
    (the same ``cluster-<id>.<region>`` part). The function connects to it over TLS as
    ``dr_restore_validator`` (IAM database authentication, a token signed with the function's
    role: no password that rotates) and proves the session is encrypted before reading.
    Returns ``status`` ``ok`` with the row's ``writer`` and ``checked_at``, or ``failed``
    with the ``error``; never raises.
    """
    started = time.perf_counter()
    aws = _AwsClients(settings, session=session, clients=clients, extra=("rds",))
    credentials: list[_DbCredentials] = []
    secret = _timed(lambda: _check_secret(settings, aws, credentials))
    if not credentials:
        result = CheckResult(error=f"the database secret could not be read: {secret.error}")
    else:
        result = _timed(
            lambda: _read_canary(settings, aws, credentials[0], request, connect or _pg8000_connect)
        )
    return {
        "status": "ok" if result.ok else "failed",
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "function": settings.function_name,
        "canary": result.to_dict(),
    }


def _read_canary(
    settings: Settings, aws: _AwsClients, source: _DbCredentials, request: Any, connect: ConnectFn
) -> dict[str, Any]:
    endpoint = request.get("endpoint") if isinstance(request, Mapping) else None
    port = request.get("port", source.port) if isinstance(request, Mapping) else None
    found = CLUSTER_ENDPOINT.fullmatch(endpoint) if isinstance(endpoint, str) else None
    home = CLUSTER_ENDPOINT.fullmatch(source.host)
    if (
        found is None or home is None or found["zone"] != home["zone"]
        or found["cluster"] == home["cluster"]
    ):  # fmt: skip
        raise HealthCheckError(
            f"{endpoint!r} is not the endpoint of another cluster in this stack's account and "
            "Region: only a restored copy of the stack's cluster is read"
        )
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise HealthCheckError(f"port {port!r} is not a TCP port")
    token = aws.get("rds").generate_db_auth_token(
        DBHostname=endpoint, Port=port, DBUsername=VALIDATOR_ROLE
    )
    connection = connect(
        user=VALIDATOR_ROLE, password=token, host=endpoint, port=port, database=source.dbname,
        ssl_context=build_ssl_context(settings.db_tls_ca_file),
        timeout=settings.db_connect_timeout, application_name="dr-restore-verify",
    )  # fmt: skip
    try:
        details = {"endpoint": endpoint, **_connection_details(connection.run(DATABASE_QUERY))}
        rows = connection.run(CANARY_READ)
    finally:
        _close_quietly(connection)
    if not rows:
        raise HealthCheckError(
            f"{HEARTBEAT_TABLE} has no row in the restored copy", details=details
        )
    writer, checked_at = rows[0]
    return {
        **details, "writer": str(writer), "checked_at": _iso(checked_at),
        **_measured(request, checked_at, _utc_now()),
    }  # fmt: skip


def _measured(
    request: Mapping[str, Any], checked_at: datetime, read_at: datetime
) -> dict[str, Any]:
    """What the restore tests measure, from the times given in the request (ASL has no date
    arithmetic): ``data_age_seconds`` (``restored_at``, the point in time restored, minus the
    row's time) and ``time_to_usable_seconds`` (the first successful read minus
    ``job_created_at``, the restore job's start)."""
    given = {key: _request_time(request, key) for key in ("restored_at", "job_created_at")}
    measured: dict[str, Any] = {}
    if given["restored_at"] is not None:
        measured["data_age_seconds"] = _seconds(given["restored_at"] - checked_at)
    if given["job_created_at"] is not None:
        measured["time_to_usable_seconds"] = _seconds(read_at - given["job_created_at"])
    return measured


def _request_time(request: Mapping[str, Any], key: str) -> datetime | None:
    if request.get(key) is None:
        return None
    try:
        at = datetime.fromisoformat(str(request[key]))
    except ValueError:
        raise HealthCheckError(f"{key} {request[key]!r} is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _seconds(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0), 3)


def build_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """The TLS context for PostgreSQL: verified against ``ca_file`` when given.

    Without a CA file the connection is still encrypted (TLS 1.2 or later, and pg8000 fails
    if the server refuses TLS) but the server certificate is not verified, because the RDS
    CA bundle cannot be fetched from the function's isolated subnets.
    """
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# --- the checks ------------------------------------------------------------------------


def _check_secret(
    settings: Settings, aws: _AwsClients, credentials: list[_DbCredentials]
) -> dict[str, Any]:
    if not settings.db_secret_arn:
        raise HealthCheckError("DB_SECRET_ARN is not set")
    response = aws.get("secretsmanager").get_secret_value(SecretId=settings.db_secret_arn)
    raw = response.get("SecretString")
    if not isinstance(raw, str):
        raise HealthCheckError("the secret has no SecretString (binary secrets are not supported)")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise HealthCheckError("the secret's SecretString is not JSON") from None
    if not isinstance(payload, dict):
        raise HealthCheckError("the secret's SecretString is not a JSON object")
    fields = sorted(str(key) for key in payload)
    missing = [
        key
        for key in ("host", "username", "password")
        if not isinstance(payload.get(key), str) or not payload[key]
    ]
    if missing:
        raise HealthCheckError(f"the secret lacks string field(s): {', '.join(missing)}")
    engine = payload.get("engine")
    if engine is not None and str(engine).lower() not in POSTGRES_ENGINES:
        raise HealthCheckError("the secret's 'engine' field is not a PostgreSQL engine")
    port_value = payload.get("port", DEFAULT_DB_PORT)
    try:
        port = int(port_value)
    except (TypeError, ValueError):
        raise HealthCheckError("the secret's 'port' field is not an integer") from None
    if not 0 < port < 65536:
        raise HealthCheckError("the secret's 'port' field is out of range")
    dbname = payload.get("dbname")
    credentials.append(
        _DbCredentials(
            host=payload["host"],
            port=port,
            username=payload["username"],
            password=payload["password"],
            dbname=dbname if isinstance(dbname, str) and dbname else DEFAULT_DB_NAME,
        )
    )
    return {"fields": fields}


def _through_proxy(settings: Settings, aws: _AwsClients, creds: _DbCredentials) -> _DbCredentials:
    """The credentials for ``DB_HOST`` (the proxy) and, with ``DB_IAM_AUTH``, an IAM token
    as the password; unchanged without them."""
    host = settings.db_host or creds.host
    password = creds.password
    if settings.db_iam_auth:
        password = aws.get("rds").generate_db_auth_token(
            DBHostname=host, Port=creds.port, DBUsername=creds.username
        )
    return _DbCredentials(
        host=host, port=creds.port, username=creds.username, password=password,
        dbname=creds.dbname,
    )  # fmt: skip


def _check_database(
    settings: Settings, creds: _DbCredentials, connect: ConnectFn
) -> dict[str, Any]:
    try:
        context = build_ssl_context(settings.db_tls_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise HealthCheckError(
            f"cannot load DB_TLS_CA_FILE {settings.db_tls_ca_file!r}: {_one_line(exc)}"
        ) from None
    connection = connect(
        user=creds.username,
        password=creds.password,
        host=creds.host,
        port=creds.port,
        database=creds.dbname,
        ssl_context=context,
        timeout=settings.db_connect_timeout,
        application_name="dr-health-check",
    )
    try:
        rows = connection.run(DATABASE_QUERY)
        details = _connection_details(rows)
        details["heartbeat"] = _write_heartbeat(connection, settings.function_name, details)
    finally:
        _close_quietly(connection)
    return details


def _connection_details(rows: list[list[Any]]) -> dict[str, Any]:
    """What the server says of this session; raises unless it answered over TLS."""
    if not rows:
        raise HealthCheckError("pg_stat_ssl has no row for this session")
    probe, version, in_recovery, ssl_on, tls_version, cipher, bits = rows[0]
    details: dict[str, Any] = {
        "server_version": str(version).split(" on ", 1)[0],
        "in_recovery": bool(in_recovery),
        "ssl": bool(ssl_on),
        "tls_version": None if tls_version is None else str(tls_version),
        "cipher": None if cipher is None else str(cipher),
        "cipher_bits": None if bits is None else int(bits),
    }
    if probe != 1:
        raise HealthCheckError(f"SELECT 1 returned {probe!r}", details=details)
    if not ssl_on:
        raise HealthCheckError(
            "the server reports this connection is not encrypted", details=details
        )
    return details


def _write_heartbeat(connection: Any, writer: str, details: dict[str, Any]) -> dict[str, Any]:
    """Write this function's heartbeat row in one transaction (creating the table on the first
    run) and return the server time it stored; raises on a reader or a mismatched read-back."""
    if details["in_recovery"]:
        raise HealthCheckError(
            "the server is in recovery (a reader): no heartbeat written; the cluster endpoint "
            "should lead to the writer",
            details=details,
        )
    nonce = uuid.uuid4().hex
    connection.run("BEGIN")
    if connection.run(HEARTBEAT_GUARD)[0][0]:
        for statement in HEARTBEAT_SQL:
            connection.run(statement)
    rows = connection.run(HEARTBEAT_WRITE, writer=writer, nonce=nonce)
    connection.run("COMMIT")
    checked_at, read_back = rows[0]
    if read_back != nonce:
        raise HealthCheckError(f"{HEARTBEAT_TABLE} returned another nonce", details=details)
    return {"table": HEARTBEAT_TABLE, "written_at": _iso(checked_at)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _check_dynamodb(settings: Settings, aws: _AwsClients, now: datetime) -> dict[str, Any]:
    if not settings.table_name:
        raise HealthCheckError("TABLE_NAME is not set")
    partition_value = f"health-check#{settings.function_name}"
    key: dict[str, Any] = {settings.table_partition_key: {"S": partition_value}}
    if settings.table_sort_key:
        key[settings.table_sort_key] = {"S": "heartbeat"}
    nonce = uuid.uuid4().hex
    item = {
        **key,
        "checked_at": {"S": now.isoformat()},
        "nonce": {"S": nonce},
        "expires_at": {"N": str(int(now.timestamp()) + HEARTBEAT_TTL_SECONDS)},
    }
    client = aws.get("dynamodb")
    client.put_item(TableName=settings.table_name, Item=item)
    response = client.get_item(TableName=settings.table_name, Key=key, ConsistentRead=True)
    read_back = response.get("Item", {}).get("nonce", {}).get("S")
    if read_back != nonce:
        raise HealthCheckError("the heartbeat item read back does not match the one written")
    return {"table": settings.table_name, "key": partition_value}


def _check_s3(settings: Settings, aws: _AwsClients, now: datetime) -> dict[str, Any]:
    if not settings.bucket_name:
        raise HealthCheckError("BUCKET_NAME is not set")
    key = f"{S3_PREFIX}{settings.function_name}.json"
    body = json.dumps({"checked_at": now.isoformat(), "nonce": uuid.uuid4().hex}).encode()
    client = aws.get("s3")
    client.put_object(
        Bucket=settings.bucket_name, Key=key, Body=body, ContentType="application/json"
    )
    response = client.get_object(Bucket=settings.bucket_name, Key=key)
    stream = response["Body"]
    try:
        read_back = stream.read()
    finally:
        stream.close()
    if read_back != body:
        raise HealthCheckError("the heartbeat object read back does not match the one written")
    return {"bucket": settings.bucket_name, "key": key}


# --- plumbing --------------------------------------------------------------------------


class _AwsClients:
    """boto3 clients with short timeouts, created up front (sessions are not thread-safe)."""

    SERVICES: Final = ("secretsmanager", "dynamodb", "s3")

    def __init__(
        self,
        settings: Settings,
        *,
        session: Any,
        clients: Mapping[str, Any] | None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self._clients: dict[str, Any] = dict(clients or {})
        self._errors: dict[str, Exception] = {}
        services = (*self.SERVICES, *extra)
        if settings.db_iam_auth and "rds" not in services:
            services = (*services, "rds")
        needed = [name for name in services if name not in self._clients]
        if not needed:
            return
        try:
            if session is None:
                session = importlib.import_module("boto3").session.Session()
            config = importlib.import_module("botocore.config").Config(
                connect_timeout=settings.aws_connect_timeout,
                read_timeout=settings.aws_read_timeout,
                retries={"max_attempts": settings.aws_max_attempts, "mode": "standard"},
            )
        except Exception as exc:
            self._errors.update(dict.fromkeys(needed, exc))
            return
        for name in needed:
            try:
                self._clients[name] = session.client(name, config=config)
            except Exception as exc:
                self._errors[name] = exc

    def get(self, name: str) -> Any:
        if name in self._errors:
            raise HealthCheckError(
                f"cannot create the {name} client: {_describe(self._errors[name])}"
            )
        return self._clients[name]


def _pg8000_connect(**kwargs: Any) -> Any:
    return importlib.import_module("pg8000.native").Connection(**kwargs)


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:
        LOGGER.debug("closing the database connection failed", exc_info=True)


def _timed(
    check: Callable[[], dict[str, Any]],
    *,
    details: Mapping[str, Any] | None = None,
    redact: tuple[str, ...] = (),
) -> CheckResult:
    """Run one check: never raises; ``details`` are defaults the check's own facts override."""
    started = time.perf_counter()
    result = CheckResult(details=dict(details or {}))
    try:
        result.details.update(check())
        result.ok = True
    except Exception as exc:
        if isinstance(exc, HealthCheckError):
            result.details.update(exc.details)
        result.error = _describe(exc, redact)
    result.latency_ms = (time.perf_counter() - started) * 1000
    return result


def _describe(exc: BaseException, redact: tuple[str, ...] = ()) -> str:
    """``ExceptionClass: message`` (plus its direct cause), with secret values redacted.

    pg8000 server errors carry the server's ErrorResponse fields (S severity, C SQLSTATE,
    M message) as a dict; they are rendered as ``FATAL 28P01: password authentication ...``.
    """
    text = _one_line(exc)
    cause = exc.__cause__
    if cause is not None and not isinstance(exc, HealthCheckError):
        text += f" (caused by {_one_line(cause)})"
    for value in sorted(redact, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 3] + "..."
    return text


def _one_line(exc: BaseException) -> str:
    if exc.args and isinstance(exc.args[0], dict):
        fields = exc.args[0]
        code = " ".join(str(fields[k]) for k in ("S", "C") if k in fields)
        message = str(fields.get("M", ""))
        message = f"{code}: {message}" if code else message
    else:
        message = str(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


def _overall_status(results: Any) -> Status:
    oks = [result.ok for result in results]
    if all(oks):
        return "ok"
    return "degraded" if any(oks) else "failed"


def _failed_report(error: str) -> dict[str, Any]:
    check = CheckResult(error=error).to_dict()
    return {
        "status": "failed",
        "checked_at": _iso(_utc_now()),
        "duration_ms": 0.0,
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        "checks": {name: dict(check) for name in CHECK_NAMES},
        "warnings": [],
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)
