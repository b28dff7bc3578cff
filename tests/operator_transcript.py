"""Print the terminal transcript of docs/operator.md: ``status`` and a restore dry run.

Run from the repository root: ``.venv/bin/python -m tests.operator_transcript``. It deploys
the test stack of tests/cli_world.py on a moto server on 127.0.0.1 (AWS Backup's answers
stubbed as in the tests) and runs the two commands as an operator would.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from dr_constructs.cli import cli

from . import test_cli, test_cli_restore
from .cli_world import STACK, build_world


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
    )  # fmt: skip
    try:
        world = build_world(endpoint)
        now = datetime.now(UTC).replace(microsecond=0)
        test_cli.NOW = now
        runner = CliRunner()
        cloudformation, _ = world.cloudformation()
        backup, _ = test_cli._status_backup(world)
        args = ["status", "--stack", STACK, "--region", "us-east-1"]
        result = runner.invoke(
            cli, args, obj={"overrides": {"cloudformation": cloudformation, "backup": backup},
                            "now": lambda: now},
        )  # fmt: skip
        print(f"$ dr-constructs {' '.join(args)}\n{result.stdout}$ echo $?\n{result.exit_code}\n")
        test_cli_restore.FIXED = now
        cloudformation, _ = world.cloudformation()
        points = test_cli_restore._points(world, world.cluster_arn)
        backup, _ = test_cli_restore._aurora_backup(world, points)
        args = ["restore", "aurora", "--stack", STACK, "--region", "us-east-1"]
        result = runner.invoke(
            cli, args, obj={"overrides": {"cloudformation": cloudformation, "backup": backup},
                            "now": lambda: now},
        )  # fmt: skip
        print(f"$ dr-constructs {' '.join(args)}\n{result.stdout}$ echo $?\n{result.exit_code}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
