"""The example app, synthesized by the real AWS CDK CLI as a user would run it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import STATEFUL_TYPES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
OUTPUTS = {
    "ClusterIdentifier",
    "ClusterEndpoint",
    "ClusterReaderEndpoint",
    "TableName",
    "FunctionName",
    "BucketName",
    "BackupVaultName",
    "BackupPlanId",
    "TopicArn",
    "DashboardName",
}

pytestmark = pytest.mark.slow
#: The recovery region of the two-region variant (--context recoveryRegion=...).
RECOVERY = "us-west-2"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """cdk synth with --context environmentSuffix=prod and with ENVIRONMENT_SUFFIX=staging,
    run side by side; returns the manifest and template of each."""
    if not CDK.exists():
        pytest.fail(f"{CDK} is missing: run `./dev test`, which installs the CDK CLI")
    runs = {
        "prod": (["--context", "environmentSuffix=prod"], {"ENVIRONMENT_SUFFIX": "ignored"}),
        "staging": ([], {"ENVIRONMENT_SUFFIX": "staging"}),
        "recovery": (
            ["--context", "environmentSuffix=prod", "--context", f"recoveryRegion={RECOVERY}"],
            {},
        ),
    }
    procs = {}
    for name, (args, extra_env) in runs.items():
        out = tmp_path_factory.mktemp(name)
        env = {**os.environ, **extra_env, "CDK_DISABLE_VERSION_CHECK": "1"}
        env["PATH"] = f"{Path(shutil.which('python') or 'python').parent}:{env['PATH']}"
        cmd = [str(CDK), "synth", "--quiet", "--output", str(out), *args]
        proc = subprocess.Popen(
            cmd, cwd=EXAMPLES, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs[name] = (out, proc)
    result = {}
    for name, (out, proc) in procs.items():
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, log
        # cdk.json carries the recommended flags: the CLI counts none unconfigured
        assert "feature flags are not configured" not in log, log
        manifest = json.loads((out / "manifest.json").read_text())
        stacks = {k: v for k, v in manifest["artifacts"].items() if v["type"].endswith("stack")}
        templates = {
            k: json.loads((out / v["properties"]["templateFile"]).read_text())
            for k, v in stacks.items()
        }
        # one stack, the primary; with a recovery region, the recovery stack beside it
        assert len(stacks) == (2 if name == "recovery" else 1), sorted(stacks)
        (stack_name,) = [k for k in stacks if k.startswith("DrStack-")]
        result[name] = {
            "stack": stack_name, "artifact": stacks[stack_name],
            "template": templates[stack_name], "out": out,
            "artifacts": stacks, "templates": templates,
        }  # fmt: skip
    return result


def _resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


@pytest.mark.parametrize("suffix", ["prod", "staging"])
def test_stack_name_and_region_carry_the_suffix(
    synthesized: dict[str, dict[str, Any]], suffix: str
) -> None:
    run = synthesized[suffix]
    assert run["stack"] == f"DrStack-{suffix}"
    assert run["artifact"]["environment"].endswith("/us-east-1")


@pytest.mark.parametrize("suffix", ["prod", "staging"])
def test_resource_names_follow_the_spec(
    synthesized: dict[str, dict[str, Any]], suffix: str
) -> None:
    template = synthesized[suffix]["template"]
    (table,) = _resources(template, "AWS::DynamoDB::Table")
    assert table["Properties"]["TableName"] == f"dr-table-{suffix}"
    names = {
        f["Properties"].get("FunctionName") for f in _resources(template, "AWS::Lambda::Function")
    }
    assert f"dr-function-{suffix}" in names
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == f"DR-Dashboard-{suffix}"
    subnets = _resources(template, "AWS::EC2::Subnet")
    assert {s["Properties"]["AvailabilityZone"] for s in subnets} == {
        "us-east-1a", "us-east-1b", "us-east-1c",
    }  # fmt: skip


def test_outputs_give_the_operator_what_comes_next(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    outputs = synthesized["prod"]["template"]["Outputs"]
    assert set(outputs) >= OUTPUTS
    assert outputs["DashboardName"]["Value"] == {
        "Ref": _logical_id(synthesized, "AWS::CloudWatch::Dashboard")
    }


def test_example_opts_in_to_destroying_everything(synthesized: dict[str, dict[str, Any]]) -> None:
    template = synthesized["prod"]["template"]
    for type_ in STATEFUL_TYPES:
        for resource in _resources(template, type_):
            assert resource["DeletionPolicy"] == "Delete", type_
    (cluster,) = _resources(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["DeletionProtection"] is False
    (table,) = _resources(template, "AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    # the data bucket is emptied before deletion, the access-log bucket deleted after it
    assert len(_resources(template, "Custom::S3AutoDeleteObjects")) == 1
    assert len(_resources(template, "Custom::DrBucketDeletion")) == 1


def _logical_id(synthesized: dict[str, dict[str, Any]], type_: str) -> str:
    resources = synthesized["prod"]["template"]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == type_]
    return logical_id


def test_the_posture_check_runs_in_the_example_and_finds_nothing_unacknowledged(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    """`cdk synth` (the CI step of examples/README.md) runs DrPostureCheck: every store meets
    the objectives but the access logs, which the example deletes with the stack on purpose."""
    out = synthesized["prod"]["out"]
    report = json.loads((out / "validation-report.json").read_text())
    (check,) = [r for r in report["pluginReports"] if r["pluginName"] == "DrPostureCheck"]
    assert (check["conclusion"], check["violations"]) == ("success", [])
    (acknowledged,) = check["suppressedViolations"]
    assert (acknowledged["ruleName"], acknowledged["acknowledgedAt"]) == (
        "stack-deletion",
        "DrStack-prod/Dr/Storage/AccessLogs",
    )
    assert "RemovalPolicy.DESTROY" in acknowledged["reason"]
    posture = json.loads((out / "DrStack-prod.dr-posture.json").read_text())
    assert len(posture["postures"]) == 9  # DrPlatform's report: the check adds no file here


def test_readme_synth_command_leaves_the_template_and_prints_the_summary() -> None:
    """`./dev synth` runs the projen `synth` task; run that task as the README's command does."""
    projen = Path(shutil.which("projen") or ROOT / ".venv" / "bin" / "projen")
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "PROJEN_DISABLE_POST": "true"}
    run = subprocess.run(
        [str(projen), "synth"], cwd=ROOT, env=env, text=True, capture_output=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Stack DrStack-dev (aws://unknown-account/us-east-1)" in run.stdout
    assert "17 outputs:" in run.stdout
    assert "DR posture (DrStack-dev.dr-posture.json):" in run.stdout
    assert re.search(r"DrStack-dev/Dr/Database/Cluster +az-loss", run.stdout)
    assert (EXAMPLES / "cdk.out" / "DrStack-dev.dr-posture.md").exists()
    template = json.loads((EXAMPLES / "cdk.out" / "DrStack-dev.template.json").read_text())
    assert "AWS::RDS::DBCluster" in {r["Type"] for r in template["Resources"].values()}


# --- The two-region variant: --context recoveryRegion=us-west-2 ------------------------------


def test_without_the_context_the_example_stays_single_region(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    for suffix in ("prod", "staging"):
        template = synthesized[suffix]["template"]
        (plan,) = _resources(template, "AWS::Backup::BackupPlan")
        assert all(
            "CopyActions" not in r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"]
        )
        stated = template["Metadata"]["dr-constructs"]
        assert set(stated) == {"objectives"}
        assert set(stated["objectives"]) == {"az_loss", "corruption", "stack_deletion"}
        assert "Single-region" in template["Description"]


def test_the_recovery_stack_is_built_in_the_recovery_region_and_deployed_first(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    run = synthesized["recovery"]
    artifacts = run["artifacts"]
    assert artifacts["DrRecovery-prod"]["environment"].endswith(f"/{RECOVERY}")
    assert artifacts["DrStack-prod"]["environment"].endswith("/us-east-1")
    assert "DrRecovery-prod" in artifacts["DrStack-prod"]["dependencies"]
    recovery = run["templates"]["DrRecovery-prod"]
    (vault,) = _resources(recovery, "AWS::Backup::BackupVault")
    assert vault["Properties"]["BackupVaultName"] == "dr-recovery-vault-prod"
    assert vault["DeletionPolicy"] == "Delete"  # the example's DESTROY, as the primary's
    assert set(recovery["Outputs"]) == {
        "RecoveryVaultName", "RecoveryKeyArn", "RecoverySubnetGroupName",
        "RecoverySecurityGroupId", "RecoveryTopicArn",
    }  # fmt: skip
    (plan,) = _resources(run["template"], "AWS::Backup::BackupPlan")
    for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]:
        (copy,) = rule["CopyActions"]
        assert f":backup:{RECOVERY}:" in json.dumps(copy["DestinationBackupVaultArn"])


def test_the_primary_states_the_region_loss_objective_and_its_posture(
    synthesized: dict[str, dict[str, Any]],
) -> None:
    run = synthesized["recovery"]
    stated = run["template"]["Metadata"]["dr-constructs"]
    assert stated["objectives"]["region_loss"] == {"rpo_seconds": 6 * 3600, "rto_seconds": 8 * 3600}
    assert stated["recovery_region"] == {
        "region": RECOVERY,
        "vault": "dr-recovery-vault-prod",
        "stack": "DrRecovery-prod",
    }
    posture = json.loads((run["out"] / "DrStack-prod.dr-posture.json").read_text())
    rows = [p for p in posture["postures"] if p["failure"] == "region-loss"]
    assert [(r["resource"].rsplit("/", 1)[-1], r["rpo_seconds"], r["rto_seconds"], r["meets"])
            for r in rows] == [("Cluster", 5 * 3600, 3600, True), ("Table", 5 * 3600, 3600, True),
                               ("Bucket", 5 * 3600, 3600, True)]  # fmt: skip
    report = json.loads((run["out"] / "validation-report.json").read_text())
    (check,) = [r for r in report["pluginReports"] if r["pluginName"] == "DrPostureCheck"]
    assert (check["conclusion"], check["violations"]) == ("success", [])
    assert {(a["ruleName"], a["acknowledgedAt"]) for a in check["suppressedViolations"]} == {
        ("stack-deletion", "DrStack-prod/Dr/Storage/AccessLogs"),
        ("region-loss", "DrStack-prod/Dr/Storage/AccessLogs"),
    }
