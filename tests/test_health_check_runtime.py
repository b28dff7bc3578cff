"""The health-check Lambda handler: moto-backed AWS checks and a real PostgreSQL over TLS.

The handler is loaded from its file as a standalone module, exactly as the Lambda runtime
loads it (``handler.handler``), so these tests need neither jsii nor the rest of the package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pg8000.native
import pytest
from moto import mock_aws

from . import postgres_server


def _load_handler() -> ModuleType:
    spec = importlib.util.find_spec("dr_constructs")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "health_check" / "runtime" / "handler.py"
    module_spec = importlib.util.spec_from_file_location("dr_health_check_handler", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


hc = _load_handler()

REGION = "us-east-1"
TABLE = "dr-table-test"
BUCKET = "dr-bucket-test"
SECRET_NAME = "dr-db-secret-test"
FUNCTION = "dr-function-test"
DB_USER = "dr_health"
DB_PASSWORD = "s3cr3t-Pa55word-never-logged"
PG_ROW = [
    1,
    "PostgreSQL 16.4 on aarch64-unknown-linux-gnu, compiled by gcc 10",
    False,
    True,
    "TLSv1.3",
    "TLS_AES_256_GCM_SHA384",
    256,
]


DUMMY_CLIENTS = {name: object() for name in ("secretsmanager", "dynamodb", "s3")}


class FakeConnection:
    """Answers the session query with ``rows`` and the heartbeat statements as PostgreSQL does
    (the real server runs the same statements in the ``real_postgres`` tests below)."""

    def __init__(self, rows: list[list[Any]], heartbeats: dict[str, Any]) -> None:
        self.rows = rows
        self.heartbeats = heartbeats  # the table's rows (writer -> nonce); shared per server
        self.queries: list[str] = []
        self.closed = False

    def run(self, sql: str, **parameters: Any) -> list[list[Any]]:
        self.queries.append(sql)
        if sql == hc.DATABASE_QUERY:
            return self.rows
        if sql == hc.HEARTBEAT_GUARD:
            return [["table" not in self.heartbeats]]
        if sql.startswith("CREATE TABLE"):
            self.heartbeats.setdefault("table", {})
        if sql == hc.HEARTBEAT_WRITE:
            self.heartbeats["table"][parameters["writer"]] = parameters["nonce"]
            return [[datetime.now(UTC), parameters["nonce"]]]
        if sql == hc.CANARY_READ:  # a restored copy's newest row, when the test gives one
            return list(self.heartbeats.get("canary", []))
        return []

    def close(self) -> None:
        self.closed = True


class FakeConnect:
    """Stands in for pg8000.native.Connection; records what it was called with."""

    def __init__(self, rows: list[list[Any]] | None = None, error: Exception | None = None):
        self.rows = [list(PG_ROW)] if rows is None else rows
        self.error = error
        self.calls: list[dict[str, Any]] = []
        self.connections: list[FakeConnection] = []
        self.heartbeats: dict[str, Any] = {}

    def __call__(self, **kwargs: Any) -> FakeConnection:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        connection = FakeConnection(self.rows, self.heartbeats)
        self.connections.append(connection)
        return connection


def secret_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "engine": "postgres",
        "host": "dr-cluster.cluster-abc.us-east-1.rds.amazonaws.com",
        "port": 5432,
        "username": DB_USER,
        "password": DB_PASSWORD,
        "dbname": "dr",
        "dbClusterIdentifier": "dr-cluster",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


class Aws:
    """moto-backed Secrets Manager, DynamoDB and S3 with the seed's resources.

    One per module (creating boto3 clients is what costs time); tests that add resources
    give them unique names.
    """

    def __init__(self) -> None:
        self.session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.secrets = self.session.client("secretsmanager")
        self.dynamodb = self.session.client("dynamodb")
        self.s3 = self.session.client("s3")
        self.clients = {"secretsmanager": self.secrets, "dynamodb": self.dynamodb, "s3": self.s3}
        self.secret_arn = self.put_secret(SECRET_NAME, secret_payload())
        self.create_table(TABLE)
        self.s3.create_bucket(Bucket=BUCKET)

    def put_secret(self, name: str, payload: dict[str, Any] | str) -> str:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        unique = f"{name}-{uuid.uuid4().hex[:8]}"
        arn: str = self.secrets.create_secret(Name=unique, SecretString=body)["ARN"]
        return arn

    def create_table(self, name: str, *, pk: str = "pk", sk: str | None = None) -> None:
        keys = [{"AttributeName": pk, "KeyType": "HASH"}]
        attributes = [{"AttributeName": pk, "AttributeType": "S"}]
        if sk:
            keys.append({"AttributeName": sk, "KeyType": "RANGE"})
            attributes.append({"AttributeName": sk, "AttributeType": "S"})
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=keys,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
        )

    def env(self, **overrides: str | None) -> dict[str, str]:
        env: dict[str, str | None] = {
            "DB_SECRET_ARN": self.secret_arn,
            "TABLE_NAME": TABLE,
            "BUCKET_NAME": BUCKET,
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, connect: Callable[..., Any] | None = None, **env: str | None) -> dict[str, Any]:
        report: dict[str, Any] = hc.handler(
            {}, None, environ=self.env(**env), clients=self.clients, connect=connect
        )
        return report


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with mock_aws():
        yield Aws()


def assert_report_shape(report: dict[str, Any]) -> None:
    json.loads(json.dumps(report))  # JSON-serialisable, no default= needed
    assert report["status"] in ("ok", "degraded", "failed")
    assert set(report["checks"]) == {"secret", "database", "dynamodb", "s3"}
    for name, check in report["checks"].items():
        assert isinstance(check["ok"], bool), name
        assert isinstance(check["latency_ms"], float), name
        assert check["latency_ms"] >= 0, name
        assert (check["error"] is None) == check["ok"], (name, check)
    oks = [check["ok"] for check in report["checks"].values()]
    expected = "ok" if all(oks) else "degraded" if any(oks) else "failed"
    assert report["status"] == expected


def assert_no_secret_values(report: dict[str, Any], *values: str) -> None:
    text = json.dumps(report)
    for value in (DB_PASSWORD, *values):
        assert value not in text


# --- moto: every dependency on its own ---------------------------------------------------


def test_all_checks_pass(aws: Aws) -> None:
    # through a boto3 session, as in Lambda (the other tests pass ready clients)
    connect = FakeConnect()
    report = hc.handler({}, None, environ=aws.env(), session=aws.session, connect=connect)

    assert_report_shape(report)
    assert report["status"] == "ok", report
    assert report["function"] == FUNCTION
    checks = report["checks"]
    assert checks["secret"]["fields"] == sorted(secret_payload())
    db = checks["database"]
    assert db["ssl"] is True
    assert db["tls_version"] == "TLSv1.3"
    assert db["server_version"] == "PostgreSQL 16.4"
    assert db["in_recovery"] is False
    assert db["tls_verified"] is False
    assert checks["dynamodb"]["key"] == f"health-check#{FUNCTION}"
    assert checks["s3"]["key"] == f"health-check/{FUNCTION}.json"
    assert_no_secret_values(report, DB_USER, secret_payload()["host"])

    # what the handler asked pg8000 for: the secret's coordinates, TLS, a short timeout
    (call,) = connect.calls
    assert call["host"] == secret_payload()["host"]
    assert (call["port"], call["user"], call["database"]) == (5432, DB_USER, "dr")
    assert call["password"] == DB_PASSWORD
    assert isinstance(call["ssl_context"], ssl.SSLContext)
    assert call["ssl_context"].minimum_version >= ssl.TLSVersion.TLSv1_2
    assert call["timeout"] == 5.0
    assert "pg_stat_ssl" in connect.connections[0].queries[0]
    assert connect.connections[0].closed

    # the heartbeats really were written
    item = aws.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"health-check#{FUNCTION}"}})
    assert {"checked_at", "nonce", "expires_at"} <= set(item["Item"])
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="health-check/")
    assert [o["Key"] for o in listed["Contents"]] == [f"health-check/{FUNCTION}.json"]


def test_partition_and_sort_key_names_come_from_the_environment(aws: Aws) -> None:
    table = f"custom-{uuid.uuid4().hex[:8]}"
    aws.create_table(table, pk="id", sk="kind")
    report = aws.run(
        FakeConnect(), TABLE_NAME=table, TABLE_PARTITION_KEY="id", TABLE_SORT_KEY="kind"
    )
    assert report["checks"]["dynamodb"]["ok"], report["checks"]["dynamodb"]
    key = {"id": {"S": f"health-check#{FUNCTION}"}, "kind": {"S": "heartbeat"}}
    assert "Item" in aws.dynamodb.get_item(TableName=table, Key=key)


def test_wrong_partition_key_name_fails_only_dynamodb(aws: Aws) -> None:
    report = aws.run(FakeConnect(), TABLE_PARTITION_KEY="id")
    assert_report_shape(report)
    assert report["status"] == "degraded"
    assert not report["checks"]["dynamodb"]["ok"]
    assert "ValidationException" in report["checks"]["dynamodb"]["error"]


def test_missing_table_fails_only_dynamodb(aws: Aws) -> None:
    report = aws.run(FakeConnect(), TABLE_NAME="no-such-table")
    assert_report_shape(report)
    assert report["status"] == "degraded"
    error = report["checks"]["dynamodb"]["error"]
    assert error.startswith("ResourceNotFoundException: An error occurred")
    assert "PutItem" in error
    assert all(report["checks"][name]["ok"] for name in ("secret", "database", "s3"))


def test_missing_bucket_fails_only_s3(aws: Aws) -> None:
    report = aws.run(FakeConnect(), BUCKET_NAME="no-such-bucket")
    assert_report_shape(report)
    assert report["status"] == "degraded"
    assert "NoSuchBucket" in report["checks"]["s3"]["error"]
    assert all(report["checks"][name]["ok"] for name in ("secret", "database", "dynamodb"))


def test_missing_secret_fails_secret_and_skips_database(aws: Aws) -> None:
    connect = FakeConnect()
    missing = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:nope-AbCdEf"
    report = aws.run(connect, DB_SECRET_ARN=missing)
    assert_report_shape(report)
    assert report["status"] == "degraded"
    assert "ResourceNotFoundException" in report["checks"]["secret"]["error"]
    database = report["checks"]["database"]
    assert not database["ok"]
    assert database["error"].startswith("not attempted: the database secret could not be read")
    assert connect.calls == []
    assert report["checks"]["dynamodb"]["ok"] and report["checks"]["s3"]["ok"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (secret_payload(password=None), "lacks string field(s): password"),
        (secret_payload(host="", username=None), "lacks string field(s): host, username"),
        (secret_payload(engine="mysql"), "not a PostgreSQL engine"),
        (secret_payload(port="http"), "'port' field is not an integer"),
        (secret_payload(port=70000), "'port' field is out of range"),
    ],
)
def test_malformed_secret_fails_clearly_without_leaking(
    aws: Aws, payload: dict[str, Any] | str, message: str
) -> None:
    arn = aws.put_secret("malformed", payload)
    report = aws.run(FakeConnect(), DB_SECRET_ARN=arn)
    assert_report_shape(report)
    secret = report["checks"]["secret"]
    assert secret["error"].startswith("HealthCheckError: ")
    assert message in secret["error"]
    assert_no_secret_values(report, DB_USER)


def test_secret_defaults_port_and_database(aws: Aws) -> None:
    arn = aws.put_secret("minimal", secret_payload(port=None, dbname=None, engine=None))
    connect = FakeConnect()
    report = aws.run(connect, DB_SECRET_ARN=arn)
    assert report["status"] == "ok", report
    assert (connect.calls[0]["port"], connect.calls[0]["database"]) == (5432, "postgres")


def test_database_unreachable_fails_only_database(aws: Aws) -> None:
    # the real pg8000 against a port where nothing listens
    port = postgres_server.free_port()
    arn = aws.put_secret("closed", secret_payload(host="127.0.0.1", port=port))
    report = aws.run(None, DB_SECRET_ARN=arn)
    assert_report_shape(report)
    assert report["status"] == "degraded"
    error = report["checks"]["database"]["error"]
    assert error.startswith("InterfaceError: Can't create a connection to host 127.0.0.1")
    assert "ConnectionRefusedError" in error
    assert report["checks"]["database"]["ssl"] is None
    assert_no_secret_values(report, DB_USER)


def test_unresponsive_database_fails_within_the_timeout(aws: Aws) -> None:
    # a TCP listener that accepts and never answers pg8000's SSLRequest
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        arn = aws.put_secret("silent", secret_payload(host="127.0.0.1", port=port))
        started = time.monotonic()
        report = aws.run(None, DB_SECRET_ARN=arn, DB_CONNECT_TIMEOUT="0.5")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
        for sock in accepted:
            sock.close()
    assert not report["checks"]["database"]["ok"]
    assert "timed out" in report["checks"]["database"]["error"].lower()
    assert elapsed < 3


def test_database_error_messages_are_redacted(aws: Aws) -> None:
    error = RuntimeError(f"login {DB_USER}/{DB_PASSWORD} rejected")
    report = aws.run(FakeConnect(error=error))
    database = report["checks"]["database"]
    assert database["error"] == "RuntimeError: login ***/*** rejected"
    assert_no_secret_values(report, DB_USER)


def test_pg8000_server_errors_are_rendered_readably(aws: Aws) -> None:
    fields = {"S": "FATAL", "V": "FATAL", "C": "28P01", "M": f'auth failed for "{DB_USER}"'}
    report = aws.run(FakeConnect(error=pg8000.native.DatabaseError(fields)))
    assert (
        report["checks"]["database"]["error"] == 'DatabaseError: FATAL 28P01: auth failed for "***"'
    )


def test_an_unencrypted_session_fails_the_database_check(aws: Aws) -> None:
    row = list(PG_ROW)
    row[3:7] = [False, None, None, None]
    report = aws.run(FakeConnect(rows=[row]))
    database = report["checks"]["database"]
    assert not database["ok"]
    assert database["ssl"] is False
    assert database["error"] == (
        "HealthCheckError: the server reports this connection is not encrypted"
    )


def test_no_pg_stat_ssl_row_fails_the_database_check(aws: Aws) -> None:
    report = aws.run(FakeConnect(rows=[]))
    assert report["checks"]["database"]["error"] == (
        "HealthCheckError: pg_stat_ssl has no row for this session"
    )


def test_missing_configuration_fails_every_check_without_raising() -> None:
    report = hc.handler({}, None, environ={}, clients=DUMMY_CLIENTS)
    assert_report_shape(report)
    assert report["status"] == "failed"
    checks = report["checks"]
    assert checks["secret"]["error"] == "HealthCheckError: DB_SECRET_ARN is not set"
    assert checks["dynamodb"]["error"] == "HealthCheckError: TABLE_NAME is not set"
    assert checks["s3"]["error"] == "HealthCheckError: BUCKET_NAME is not set"
    assert report["function"] == "local"


def test_clients_that_raise_anything_never_escape() -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise ZeroDivisionError("boom")

    clients = {name: Broken() for name in ("secretsmanager", "dynamodb", "s3")}
    env = {"DB_SECRET_ARN": "arn", "TABLE_NAME": "t", "BUCKET_NAME": "b"}
    report = hc.handler({}, None, environ=env, clients=clients)
    assert_report_shape(report)
    assert report["status"] == "failed"
    for name in ("secret", "dynamodb", "s3"):
        assert report["checks"][name]["error"] == "ZeroDivisionError: boom"


def test_even_a_crash_outside_the_checks_returns_a_report() -> None:
    class ExplodingEnviron(dict[str, str]):
        def get(self, *args: Any) -> Any:
            raise MemoryError("environ is gone")

    report = hc.handler({}, None, environ=ExplodingEnviron())
    assert_report_shape(report)
    assert report["status"] == "failed"
    assert report["checks"]["s3"]["error"] == ("health check crashed: MemoryError: environ is gone")


def test_a_session_that_cannot_make_clients_fails_the_checks() -> None:
    class NoRegion:
        def client(self, name: str, **kwargs: Any) -> Any:
            raise ValueError(f"no region for {name}")

    env = {"DB_SECRET_ARN": "arn", "TABLE_NAME": "t", "BUCKET_NAME": "b"}
    report = hc.handler({}, None, environ=env, session=NoRegion())
    assert report["status"] == "failed"
    assert report["checks"]["s3"]["error"] == (
        "HealthCheckError: cannot create the s3 client: ValueError: no region for s3"
    )


def test_boto3_clients_have_short_timeouts_and_few_retries() -> None:
    made: dict[str, Any] = {}

    class Recorder:
        def client(self, name: str, *, config: Any) -> Any:
            made[name] = config
            return object()

    env = {
        "HEALTH_CHECK_CONNECT_TIMEOUT": "1.5",
        "HEALTH_CHECK_READ_TIMEOUT": "3",
        "HEALTH_CHECK_MAX_ATTEMPTS": "3",
    }
    hc.handler({}, None, environ=env, session=Recorder())
    assert set(made) == {"secretsmanager", "dynamodb", "s3"}
    for config in made.values():
        assert (config.connect_timeout, config.read_timeout) == (1.5, 3.0)
        assert config.retries == {"max_attempts": 3, "mode": "standard"}

    defaults = hc.Settings.from_env({})
    assert (defaults.aws_connect_timeout, defaults.aws_read_timeout) == (2.0, 5.0)
    assert (defaults.aws_max_attempts, defaults.db_connect_timeout) == (2, 5.0)


def test_invalid_numbers_fall_back_to_defaults_with_a_warning() -> None:
    settings = hc.Settings.from_env(
        {"DB_CONNECT_TIMEOUT": "soon", "HEALTH_CHECK_READ_TIMEOUT": "-1"}
    )
    assert (settings.db_connect_timeout, settings.aws_read_timeout) == (5.0, 5.0)
    assert settings.warnings == (
        "DB_CONNECT_TIMEOUT='soon' is not a positive number; using 5",
        "HEALTH_CHECK_READ_TIMEOUT='-1' is not a positive number; using 5",
    )
    report = hc.handler({}, None, environ={"DB_CONNECT_TIMEOUT": "soon"}, clients=DUMMY_CLIENTS)
    assert report["warnings"] == [settings.warnings[0]]


def test_the_event_cannot_redirect_the_check(aws: Aws) -> None:
    connect = FakeConnect()
    event = {"DB_SECRET_ARN": "arn:evil", "TABLE_NAME": "evil", "BUCKET_NAME": "evil"}
    report = hc.handler(event, None, environ=aws.env(), clients=aws.clients, connect=connect)
    assert report["status"] == "ok"
    assert report["checks"]["dynamodb"]["table"] == TABLE


def test_ssl_context_requires_tls_and_verifies_only_with_a_ca_file(tmp_path: Path) -> None:
    unverified = hc.build_ssl_context(None)
    assert unverified.verify_mode == ssl.CERT_NONE
    assert not unverified.check_hostname
    assert unverified.minimum_version == ssl.TLSVersion.TLSv1_2
    ca_file, _, _ = postgres_server.write_ca_and_server_cert(tmp_path)
    verified = hc.build_ssl_context(str(ca_file))
    assert verified.verify_mode == ssl.CERT_REQUIRED
    assert verified.check_hostname
    assert verified.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_missing_ca_file_fails_the_database_check(aws: Aws) -> None:
    report = aws.run(FakeConnect(), DB_TLS_CA_FILE="/nonexistent/rds-global-bundle.pem")
    database = report["checks"]["database"]
    assert database["error"] == (
        "HealthCheckError: cannot load DB_TLS_CA_FILE '/nonexistent/rds-global-bundle.pem': "
        "FileNotFoundError: [Errno 2] No such file or directory"
    )
    assert database["tls_verified"] is True
    assert database["ssl"] is None


def test_the_report_is_logged_without_secrets(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=hc.LOGGER.name):
        report = aws.run(FakeConnect(error=RuntimeError(DB_PASSWORD)), TABLE_NAME="missing")
    assert report["status"] == "degraded"
    (record,) = [r for r in caplog.records if r.name == hc.LOGGER.name]
    assert record.levelno == logging.WARNING
    assert DB_PASSWORD not in record.getMessage()
    assert '"status": "degraded"' in record.getMessage()


def test_the_heartbeat_is_written_once_the_session_is_proved_encrypted(aws: Aws) -> None:
    connect = FakeConnect()
    report = aws.run(connect)
    assert report["status"] == "ok", report
    queries = connect.connections[0].queries
    assert queries[0] == hc.DATABASE_QUERY  # TLS proved before anything is written
    assert queries[1:3] == ["BEGIN", hc.HEARTBEAT_GUARD]
    assert queries[-2:] == [hc.HEARTBEAT_WRITE, "COMMIT"]
    assert list(connect.heartbeats["table"]) == [FUNCTION]


def test_no_heartbeat_over_an_unencrypted_session(aws: Aws) -> None:
    connect = FakeConnect(rows=[[*PG_ROW[:3], False, None, None, None]])
    report = aws.run(connect)
    assert report["checks"]["database"]["error"] == (
        "HealthCheckError: the server reports this connection is not encrypted"
    )
    assert connect.connections[0].queries == [hc.DATABASE_QUERY]


def test_a_reader_fails_the_check_and_gets_no_heartbeat(aws: Aws) -> None:
    """pg_is_in_recovery() true: the cluster endpoint led to a reader (e.g. a stale DNS
    answer during a failover); a reader refuses writes, so none is tried."""
    connect = FakeConnect(rows=[[PG_ROW[0], PG_ROW[1], True, *PG_ROW[3:]]])
    report = aws.run(connect)
    database = report["checks"]["database"]
    assert not database["ok"]
    assert "the server is in recovery (a reader): no heartbeat written" in database["error"]
    assert database["in_recovery"] is True
    assert connect.connections[0].queries == [hc.DATABASE_QUERY]


# --- a real PostgreSQL on 127.0.0.1 ------------------------------------------------------


def _serve(*, tls: bool) -> Iterator[postgres_server.PostgresServer]:
    """Start a real server for the module; fail (never skip) when none can be had."""
    try:
        server = postgres_server.start_postgres(tls=tls)
    except postgres_server.PostgresUnavailable as exc:
        pytest.fail(f"a real PostgreSQL is required for these tests: {exc}")
    try:
        server.create_login(DB_USER, DB_PASSWORD, "dr")
        # What Aurora PostgreSQL has and a plain server lacks: the role rds_iam (IAM database
        # authentication: "GRANT rds_iam TO db_userx", Aurora User Guide, "Creating a database
        # account using IAM authentication"), and a master user (rds_superuser) that may
        # create roles and grant rds_iam.
        admin = server.admin_connection()
        try:
            admin.run("CREATE ROLE rds_iam NOLOGIN")
            admin.run(f"ALTER ROLE {DB_USER} CREATEROLE")
            admin.run(f"GRANT rds_iam TO {DB_USER} WITH ADMIN OPTION")
        finally:
            admin.close()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pg_tls() -> Iterator[postgres_server.PostgresServer]:
    yield from _serve(tls=True)


@pytest.fixture(scope="module")
def pg_plain() -> Iterator[postgres_server.PostgresServer]:
    yield from _serve(tls=False)


def real_secret(server: postgres_server.PostgresServer, **overrides: Any) -> dict[str, Any]:
    return secret_payload(host=server.host, port=server.port, **overrides)


@pytest.mark.slow
def test_real_postgres_over_tls(aws: Aws, pg_tls: postgres_server.PostgresServer) -> None:
    arn = aws.put_secret("real", real_secret(pg_tls))
    report = aws.run(None, DB_SECRET_ARN=arn)
    assert_report_shape(report)
    assert report["status"] == "ok", report
    database = report["checks"]["database"]
    assert database["ssl"] is True
    assert database["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert database["cipher"]
    assert database["server_version"].startswith("PostgreSQL ")
    assert database["tls_verified"] is False
    assert database["in_recovery"] is False
    assert_no_secret_values(report, DB_USER)


@pytest.mark.slow
def test_real_postgres_verifies_the_certificate_with_a_ca_file(
    aws: Aws, pg_tls: postgres_server.PostgresServer
) -> None:
    arn = aws.put_secret("real", real_secret(pg_tls))
    report = aws.run(None, DB_SECRET_ARN=arn, DB_TLS_CA_FILE=str(pg_tls.ca_file))
    database = report["checks"]["database"]
    assert database["ok"], database
    assert database["tls_verified"] is True
    assert database["ssl"] is True


@pytest.mark.slow
def test_real_postgres_with_the_wrong_ca_fails_verification(
    aws: Aws, pg_tls: postgres_server.PostgresServer, tmp_path: Path
) -> None:
    other_ca, _, _ = postgres_server.write_ca_and_server_cert(tmp_path, name="other")
    arn = aws.put_secret("real", real_secret(pg_tls))
    report = aws.run(None, DB_SECRET_ARN=arn, DB_TLS_CA_FILE=str(other_ca))
    database = report["checks"]["database"]
    assert not database["ok"]
    assert "SSLCertVerificationError" in database["error"]
    assert "certificate verify failed" in database["error"]


@pytest.mark.slow
def test_real_postgres_wrong_password(aws: Aws, pg_tls: postgres_server.PostgresServer) -> None:
    wrong = "definitely-not-the-password"
    arn = aws.put_secret("wrong", real_secret(pg_tls, password=wrong))
    report = aws.run(None, DB_SECRET_ARN=arn)
    assert_report_shape(report)
    assert report["status"] == "degraded"
    error = report["checks"]["database"]["error"]
    assert error == 'DatabaseError: FATAL 28P01: password authentication failed for user "***"'
    assert_no_secret_values(report, wrong, DB_USER)


@pytest.mark.slow
def test_real_postgres_refuses_a_connection_without_tls(
    pg_tls: postgres_server.PostgresServer,
) -> None:
    # pg_hba.conf has only a hostssl line: a plaintext client is turned away by the server
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        pg8000.native.Connection(
            user=DB_USER,
            password=DB_PASSWORD,
            host=pg_tls.host,
            port=pg_tls.port,
            database="dr",
            ssl_context=False,
            timeout=5,
        )
    fields = caught.value.args[0]
    assert fields["C"] == "28000"
    assert "no encryption" in fields["M"]


@pytest.mark.slow
def test_real_postgres_with_tls_off_fails_the_check(
    aws: Aws, pg_plain: postgres_server.PostgresServer
) -> None:
    arn = aws.put_secret("plain", real_secret(pg_plain))
    report = aws.run(None, DB_SECRET_ARN=arn)
    assert_report_shape(report)
    database = report["checks"]["database"]
    assert not database["ok"]
    assert database["error"] == "InterfaceError: Server refuses SSL"
    assert report["checks"]["dynamodb"]["ok"] and report["checks"]["s3"]["ok"]


def test_through_the_proxy_with_an_iam_token(aws: Aws) -> None:
    connect = FakeConnect()
    clients = {**aws.clients, "rds": aws.session.client("rds")}
    report = hc.handler(
        {}, None, clients=clients, connect=connect,
        environ=aws.env(DB_HOST="dr-proxy-dev.proxy-abc.us-east-1.rds.amazonaws.com",
                        DB_IAM_AUTH="true"),
    )  # fmt: skip
    assert report["status"] == "ok", report
    assert (
        report["checks"]["database"]["via_proxy"],
        report["checks"]["database"]["iam_auth"],
    ) == (
        True,
        True,
    )
    (call,) = connect.calls
    assert call["host"] == "dr-proxy-dev.proxy-abc.us-east-1.rds.amazonaws.com"
    # botocore's real signer: a presigned connect URL for this host, port and user
    assert call["password"].startswith(f"{call['host']}:5432/?Action=connect&DBUser={DB_USER}")
    assert "X-Amz-Signature=" in call["password"] and call["password"] != DB_PASSWORD
    # the heartbeat goes through the proxy too: the same connection writes it
    assert hc.HEARTBEAT_WRITE in connect.connections[0].queries
    assert report["checks"]["database"]["heartbeat"]["table"] == "dr_constructs.heartbeat"


def _fresh_database(server: postgres_server.PostgresServer) -> str:
    """A new, empty database owned by the health check's user (no heartbeat table yet)."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = server.admin_connection()
    try:
        admin.run(f"CREATE DATABASE {name} OWNER {DB_USER}")
    finally:
        admin.close()
    return name


def _heartbeats(server: postgres_server.PostgresServer, database: str) -> list[list[Any]]:
    connection = pg8000.native.Connection(
        user=DB_USER, password=DB_PASSWORD, host=server.host, port=server.port,
        database=database, ssl_context=ssl.create_default_context(cafile=str(server.ca_file)),
    )  # fmt: skip
    try:
        return connection.run(
            "SELECT writer, checked_at, clock_timestamp() FROM dr_constructs.heartbeat "
            "ORDER BY writer"
        )
    finally:
        connection.close()


@pytest.mark.slow
def test_real_postgres_keeps_one_heartbeat_row_per_writer_at_the_servers_time(
    aws: Aws, pg_tls: postgres_server.PostgresServer
) -> None:
    database = _fresh_database(pg_tls)
    arn = aws.put_secret("heartbeat", real_secret(pg_tls, dbname=database))
    first = aws.run(None, DB_SECRET_ARN=arn)
    assert first["status"] == "ok", first
    ((writer, written, now),) = _heartbeats(pg_tls, database)
    assert writer == FUNCTION
    assert timedelta(0) <= now - written < timedelta(seconds=30)
    assert first["checks"]["database"]["heartbeat"] == {
        "table": "dr_constructs.heartbeat",
        "written_at": written.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    second = aws.run(None, DB_SECRET_ARN=arn)
    assert second["status"] == "ok", second
    ((_, rewritten, _),) = _heartbeats(pg_tls, database)  # still one row, moved forward
    assert rewritten > written


@pytest.mark.slow
def test_real_postgres_concurrent_first_runs_all_write_their_heartbeat(
    aws: Aws, pg_tls: postgres_server.PostgresServer
) -> None:
    """Several functions (or invocations) starting at once on a database without the table:
    the schema and table are created once, and every run writes its row."""
    database = _fresh_database(pg_tls)
    arn = aws.put_secret("heartbeat-race", real_secret(pg_tls, dbname=database))
    writers = [f"dr-function-{i}" for i in range(8)]
    start = threading.Barrier(len(writers))
    reports: dict[str, dict[str, Any]] = {}

    def run(writer: str) -> None:
        start.wait()
        reports[writer] = aws.run(None, DB_SECRET_ARN=arn, AWS_LAMBDA_FUNCTION_NAME=writer)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = {w: r["checks"]["database"]["error"] for w, r in reports.items()}
    assert errors == dict.fromkeys(writers), errors
    assert [row[0] for row in _heartbeats(pg_tls, database)] == sorted(writers)


def _as_validator(
    server: postgres_server.PostgresServer, database: str, sql: str
) -> list[list[Any]]:
    """Run ``sql`` as the validator role over TLS. On Aurora it logs in with an IAM token;
    a plain server has no IAM, so the test gives the role a password, set by the admin."""
    admin = server.admin_connection()
    try:
        admin.run(f"ALTER ROLE {hc.VALIDATOR_ROLE} PASSWORD 'validator-stand-in-for-iam'")
    finally:
        admin.close()
    connection = pg8000.native.Connection(
        user=hc.VALIDATOR_ROLE, password="validator-stand-in-for-iam", host=server.host,
        port=server.port, database=database,
        ssl_context=ssl.create_default_context(cafile=str(server.ca_file)),
    )  # fmt: skip
    try:
        return connection.run(sql)
    finally:
        connection.close()


@pytest.mark.slow
def test_real_postgres_the_validator_reads_the_heartbeat_after_the_admin_password_rotates(
    aws: Aws, pg_tls: postgres_server.PostgresServer
) -> None:
    database = _fresh_database(pg_tls)
    arn = aws.put_secret("validator", real_secret(pg_tls, dbname=database))
    assert aws.run(None, DB_SECRET_ARN=arn)["status"] == "ok"
    ((written,),) = _as_validator(
        pg_tls, database, "SELECT max(checked_at) FROM dr_constructs.heartbeat"
    )
    assert written is not None

    # the admin password rotates (Secrets Manager's rotation): the validator is not affected
    admin = pg_tls.admin_connection()
    try:
        admin.run(f"ALTER ROLE {DB_USER} PASSWORD 'rotated-Pa55word'")
        member = admin.run(
            "SELECT pg_has_role(:role, 'rds_iam', 'MEMBER'), rolconfig FROM pg_roles "
            "WHERE rolname = :role",
            role=hc.VALIDATOR_ROLE,
        )
    finally:
        admin.close()
    try:
        stale = aws.run(None, DB_SECRET_ARN=arn)  # the health check's old password fails
        assert "28P01" in stale["checks"]["database"]["error"]
        ((again,),) = _as_validator(
            pg_tls, database, "SELECT max(checked_at) FROM dr_constructs.heartbeat"
        )
        assert again == written
    finally:
        admin = pg_tls.admin_connection()
        try:
            admin.run(f"ALTER ROLE {DB_USER} PASSWORD {pg8000.native.literal(DB_PASSWORD)}")
        finally:
            admin.close()
    assert member == [[True, ["default_transaction_read_only=on"]]]

    # read-only: it cannot write the heartbeat, nor anything else
    with pytest.raises(pg8000.native.DatabaseError) as refused:
        _as_validator(pg_tls, database, "DELETE FROM dr_constructs.heartbeat")
    assert refused.value.args[0]["C"] == "25006"  # read_only_sql_transaction


# --- reading a restored copy's canary (the operator's restore asks for it) -------------------

#: Cluster endpoints in the form of the Aurora User Guide, "Types of Aurora endpoints"
#: (``mydbcluster.cluster-c7tj4example.us-east-1.rds.amazonaws.com``): the source's (the
#: secret's ``host``, as ``secret_payload`` has it) and a restored copy's in the same account
#: and Region, named as ``dr-constructs restore`` names it.
SOURCE_ENDPOINT = "dr-cluster.cluster-abc.us-east-1.rds.amazonaws.com"
RESTORED_ENDPOINT = "dr-cluster-restored-20261129220000.cluster-abc.us-east-1.rds.amazonaws.com"
WRITTEN = datetime(2026, 11, 29, 21, 58, 30, tzinfo=UTC)


def _verify(aws: Aws, connect: Any, request: Any, **env: str) -> dict[str, Any]:
    clients = {**aws.clients, "rds": aws.session.client("rds")}
    event = {hc.VERIFY_EVENT_KEY: request}
    report: dict[str, Any] = hc.handler(
        event, None, environ=aws.env(**env), clients=clients, connect=connect
    )
    return report


def test_verify_reads_the_restored_copys_newest_row_as_the_validator_with_an_iam_token(
    aws: Aws,
) -> None:
    connect = FakeConnect()
    connect.heartbeats["canary"] = [[FUNCTION, WRITTEN]]
    report = _verify(aws, connect, {"endpoint": RESTORED_ENDPOINT, "port": 5432})
    assert report["status"] == "ok", report
    canary = report["canary"]
    assert (canary["writer"], canary["checked_at"]) == (FUNCTION, "2026-11-29T21:58:30Z")
    assert canary["ssl"] is True and canary["endpoint"] == RESTORED_ENDPOINT
    (call,) = connect.calls
    assert (call["user"], call["host"], call["port"]) == (
        "dr_restore_validator",
        RESTORED_ENDPOINT,
        5432,
    )
    # botocore's real signer: a token for the copy's endpoint and the validator user, never
    # the secret's password
    assert call["password"].startswith(
        f"{RESTORED_ENDPOINT}:5432/?Action=connect&DBUser=dr_restore_validator"
    )
    assert DB_PASSWORD not in json.dumps(call, default=str)
    # it reads, and writes nothing: no heartbeat, no DDL
    assert connect.connections[0].queries == [hc.DATABASE_QUERY, hc.CANARY_READ]
    assert connect.connections[0].closed


NOT_A_COPY = "is not the endpoint of another cluster in this stack's account and Region"


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        pytest.param({"endpoint": SOURCE_ENDPOINT, "port": 5432}, NOT_A_COPY,
                     id="the source itself"),
        pytest.param({"endpoint": "other.cluster-xyz.us-east-1.rds.amazonaws.com", "port": 5432},
                     NOT_A_COPY, id="another account"),
        pytest.param({"endpoint": "copy.cluster-abc.us-west-2.rds.amazonaws.com", "port": 5432},
                     NOT_A_COPY, id="another Region"),
        pytest.param({"endpoint": "evil.example.com", "port": 5432}, NOT_A_COPY, id="not RDS"),
        pytest.param(
            {"endpoint": "copy.cluster-ro-abc.us-east-1.rds.amazonaws.com", "port": 5432},
            NOT_A_COPY, id="a reader endpoint",
        ),
        pytest.param({"endpoint": RESTORED_ENDPOINT, "port": "5432; DROP"},
                     "port '5432; DROP' is not a TCP port", id="bad port"),
        pytest.param("not a mapping", NOT_A_COPY, id="not a mapping"),
    ],
)  # fmt: skip
def test_verify_refuses_any_endpoint_but_a_restored_copy_without_connecting(
    aws: Aws, request_: Any, error: str
) -> None:
    connect = FakeConnect()
    report = _verify(aws, connect, request_)
    assert report["status"] == "failed"
    assert connect.calls == []
    assert error in report["canary"]["error"]


@pytest.mark.parametrize(
    ("source", "copy"),
    [
        pytest.param(
            "dr-cluster.cluster-c1.us-gov-west-1.rds.amazonaws.com",
            "dr-cluster-restored-1.cluster-c1.us-gov-west-1.rds.amazonaws.com",
            id="GovCloud",
        ),
        # China: rds before the Region (see CLUSTER_ENDPOINT for the sources)
        pytest.param(
            "dr-cluster.cluster-c1.rds.cn-north-1.amazonaws.com.cn",
            "dr-cluster-restored-1.cluster-c1.rds.cn-north-1.amazonaws.com.cn",
            id="China",
        ),
    ],
)
def test_verify_reads_copies_in_other_partitions(aws: Aws, source: str, copy: str) -> None:
    arn = aws.put_secret("partition", secret_payload(host=source))
    connect = FakeConnect()
    connect.heartbeats["canary"] = [[FUNCTION, WRITTEN]]
    report = _verify(aws, connect, {"endpoint": copy, "port": 5432}, DB_SECRET_ARN=arn)
    assert report["status"] == "ok", report
    assert connect.calls[0]["host"] == copy


def test_verify_measures_the_data_age_and_the_time_to_usable_from_the_times_given(
    aws: Aws,
) -> None:
    """The restore test's state machine passes the point in time restored and the restore
    job's start (ASL has no date arithmetic): the row's age at that point, and the time from
    the job's start to this first successful read."""
    connect = FakeConnect()
    connect.heartbeats["canary"] = [[FUNCTION, WRITTEN]]
    job_created = datetime.now(UTC) - timedelta(minutes=25)
    before = datetime.now(UTC)
    report = _verify(aws, connect, {
        "endpoint": RESTORED_ENDPOINT, "port": 5432,
        "restored_at": (WRITTEN + timedelta(seconds=90)).isoformat().replace("+00:00", "Z"),
        "job_created_at": job_created.isoformat(),
    })  # fmt: skip
    after = datetime.now(UTC)
    canary = report["canary"]
    assert report["status"] == "ok" and canary["data_age_seconds"] == 90.0
    assert (before - job_created).total_seconds() <= canary["time_to_usable_seconds"]
    assert canary["time_to_usable_seconds"] <= (after - job_created).total_seconds()


def test_verify_with_a_time_that_is_not_iso_fails_naming_it(aws: Aws) -> None:
    connect = FakeConnect()
    connect.heartbeats["canary"] = [[FUNCTION, WRITTEN]]
    report = _verify(aws, connect, {"endpoint": RESTORED_ENDPOINT, "port": 5432,
                                    "restored_at": "yesterday"})  # fmt: skip
    assert report["status"] == "failed"
    assert report["canary"]["error"] == (
        "HealthCheckError: restored_at 'yesterday' is not an ISO 8601 time"
    )


def test_verify_of_a_copy_without_the_row_fails_naming_the_table(aws: Aws) -> None:
    connect = FakeConnect()  # no canary row
    report = _verify(aws, connect, {"endpoint": RESTORED_ENDPOINT, "port": 5432})
    assert report["status"] == "failed"
    assert report["canary"]["error"] == (
        "HealthCheckError: dr_constructs.heartbeat has no row in the restored copy"
    )


def test_verify_over_an_unencrypted_session_reads_nothing(aws: Aws) -> None:
    row = list(PG_ROW)
    row[3] = False
    connect = FakeConnect(rows=[row])
    connect.heartbeats["canary"] = [[FUNCTION, WRITTEN]]
    report = _verify(aws, connect, {"endpoint": RESTORED_ENDPOINT, "port": 5432})
    assert report["status"] == "failed"
    assert hc.CANARY_READ not in connect.connections[0].queries


@pytest.mark.slow
def test_real_postgres_a_restored_copy_is_read_as_the_validator(
    aws: Aws, pg_tls: postgres_server.PostgresServer
) -> None:
    """The health check writes its row; the copy (the same server standing in for it: DNS
    maps the copy's endpoint to it, and the IAM token is the validator's stand-in password)
    is read over TLS as ``dr_restore_validator``, and gives back that row."""
    database = _fresh_database(pg_tls)
    arn = aws.put_secret("verify", secret_payload(dbname=database))
    assert aws.run(_to_server(pg_tls), DB_SECRET_ARN=arn)["status"] == "ok"
    ((_, written, _),) = _heartbeats(pg_tls, database)
    _as_validator(pg_tls, database, "SELECT 1")  # sets the stand-in password

    class Rds:  # PostgreSQL has no IAM: the token is the stand-in password
        def generate_db_auth_token(self, **request: Any) -> str:
            assert request == {
                "DBHostname": RESTORED_ENDPOINT, "Port": 5432,
                "DBUsername": "dr_restore_validator",
            }  # fmt: skip
            return "validator-stand-in-for-iam"

    report = hc.handler(
        {hc.VERIFY_EVENT_KEY: {"endpoint": RESTORED_ENDPOINT, "port": 5432}}, None,
        environ=aws.env(DB_SECRET_ARN=arn), clients={**aws.clients, "rds": Rds()},
        connect=_to_server(pg_tls),
    )  # fmt: skip
    assert report["status"] == "ok", report
    assert report["canary"]["writer"] == FUNCTION
    assert report["canary"]["checked_at"] == written.astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert report["canary"]["tls_version"] in ("TLSv1.2", "TLSv1.3")


def _to_server(server: postgres_server.PostgresServer) -> Any:
    """pg8000's connect, with the cluster endpoints resolved to the local server (a DNS
    stand-in): the handler checks the endpoint's form before it connects."""

    def connect(**kwargs: Any) -> Any:
        return pg8000.native.Connection(**{**kwargs, "host": server.host, "port": server.port})

    return connect
