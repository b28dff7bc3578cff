"""Run a custom resource's Lambda code from a cloud assembly, as CloudFormation would for a
Delete request, under node with the AWS SDK the Lambda runtime ships (``node_modules``),
against an emulator on 127.0.0.1 (``AWS_ENDPOINT_URL``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The function each Lambda's Handler runs inside its CloudFormation-response wrapper:
#: CDK's CustomResourceProvider entrypoint calls ``index.handler``; CDK's bundled auto-delete
#: handler exports its inner function as ``autoDeleteHandler``.
INNER_HANDLER = {
    "__entrypoint__.handler": "handler",
    "index.handler": "autoDeleteHandler",
}
_RUN_HANDLER = """
const [file, name, event, pauseMs] = process.argv.slice(1);
const context = { getRemainingTimeInMillis: () => Number(process.env.REMAINING_MS) };
require(file)[name](JSON.parse(event), context, Number(pauseMs)).then(
  (result) => console.log(JSON.stringify(result ?? null)),
  (error) => { console.error(`${error.name}: ${error.message}`); process.exit(1); },
);
"""


def run_delete(
    assembly: Path,
    template: dict[str, Any],
    logical_id: str,
    properties: dict[str, Any],
    *,
    endpoint: str,
    region: str,
    remaining_ms: int = 900_000,
    pause_ms: int = 50,
) -> subprocess.CompletedProcess[str]:
    """Run the Lambda code behind custom resource ``logical_id`` for CloudFormation's Delete
    request, with ``properties`` (its resolved ResourceProperties); the clock the handler sees
    (``getRemainingTimeInMillis``) stands still at ``remaining_ms``."""
    resource = template["Resources"][logical_id]
    function_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = template["Resources"][function_id]["Properties"]
    asset = assembly / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    event = {
        "RequestType": "Delete",
        "ResourceType": resource["Type"],
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": f"{logical_id}-physical",
        "ResourceProperties": properties,
    }
    env = dict(
        os.environ,
        NODE_PATH=str(ROOT / "node_modules"),
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=region,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        REMAINING_MS=str(remaining_ms),
    )
    return subprocess.run(
        ["node", "-e", _RUN_HANDLER, str(asset / "index.js"),
         INNER_HANDLER[function["Handler"]], json.dumps(event), str(pause_ms)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
