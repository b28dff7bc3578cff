"""The architecture picture of the docs, drawn from the synthesized example's template.

``python scripts/architecture.py docs/architecture.svg`` synthesizes ``examples/app.py`` (as
the CDK CLI would, with the example's ``cdk.json`` context) and draws what the template holds:
the VPC and its subnets per AZ, the Aurora instances where they are placed, the VPC Lambda,
the endpoints, the data stores, AWS Backup, the monitoring and the drills, with the flows
between them. Every label comes from the template, so the picture changes with the code;
``tests/test_docs.py`` fails when the committed picture is stale. A plain SVG: no fonts,
no scripts, nothing fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OUTPUT = ROOT / "docs" / "architecture.svg"

Resource = dict[str, Any]


def synthesize_example() -> dict[str, Any]:
    """The example app's template, synthesized as ``cdk synth`` does (path metadata on)."""
    context = json.loads((EXAMPLES / "cdk.json").read_text())["context"]
    context["aws:cdk:enable-path-metadata"] = True
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "CDK_OUTDIR": out, "CDK_CONTEXT_JSON": json.dumps(context)}
        env.pop("ENVIRONMENT_SUFFIX", None)
        subprocess.run([sys.executable, "app.py"], cwd=EXAMPLES, env=env, check=True)
        (template,) = Path(out).glob("*.template.json")
        return json.loads(template.read_text())  # type: ignore[no-any-return]


# --- what the template holds ----------------------------------------------------------------


def _of_type(template: dict[str, Any], type_: str) -> list[Resource]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def _props(resource: Resource) -> dict[str, Any]:
    return resource.get("Properties", {})  # type: ignore[no-any-return]


def _path(resource: Resource) -> str:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


def _tag(resource: Resource, key: str) -> str | None:
    tags = _props(resource).get("Tags", [])
    if isinstance(tags, dict):  # AWS::FIS::ExperimentTemplate: a map
        return tags.get(key)
    return next((t["Value"] for t in tags if t.get("Key") == key), None)


def _service(endpoint: Resource) -> str:
    name = _props(endpoint)["ServiceName"]
    if isinstance(name, dict):  # Fn::Join of com.amazonaws., the region, .service
        name = name["Fn::Join"][1][-1]
    return str(name).rsplit(".", 1)[-1]


@dataclass
class Architecture:
    """The facts the picture shows, read from one template."""

    stack: str
    region: str
    vpc_cidr: str
    subnets: dict[str, list[tuple[str, str]]]  # AZ -> [(subnet type, CIDR)]
    instances: dict[str, list[str]]  # AZ -> ["writer db.t4g.medium", ...]
    engine: str
    vpc_functions: list[str]
    other_functions: list[str]
    gateway_endpoints: list[str]
    interface_endpoints: list[str]
    table: str
    table_notes: str
    buckets: list[str]
    vault: str
    backup_rules: list[str]
    restore_tests: str
    alarms: int
    rules: int
    topic: str
    dashboard: str
    keys: int
    drills: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, template: dict[str, Any]) -> Architecture:
        subnets: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for subnet in _of_type(template, "AWS::EC2::Subnet"):
            kind = _tag(subnet, "aws-cdk:subnet-type") or "Subnet"
            subnets[_props(subnet)["AvailabilityZone"]].append((kind, _props(subnet)["CidrBlock"]))
        instances: dict[str, list[str]] = defaultdict(list)
        for instance in _of_type(template, "AWS::RDS::DBInstance"):
            role = "writer" if "/Writer/" in _path(instance) else "reader"
            props = _props(instance)
            instances[props["AvailabilityZone"]].append(f"{role} {props['DBInstanceClass']}")
        (cluster,) = _of_type(template, "AWS::RDS::DBCluster")
        functions = _of_type(template, "AWS::Lambda::Function")
        named = [f for f in functions if isinstance(_props(f).get("FunctionName"), str)]
        endpoints = _of_type(template, "AWS::EC2::VPCEndpoint")
        (table,) = _of_type(template, "AWS::DynamoDB::Table")
        table_props = _props(table)
        pitr = table_props.get("PointInTimeRecoverySpecification", {})
        (vault,) = _of_type(template, "AWS::Backup::BackupVault")
        plans = _of_type(template, "AWS::Backup::BackupPlan")
        rules = [
            f"{rule['RuleName']}: {rule['ScheduleExpression']}, "
            f"{rule.get('Lifecycle', {}).get('DeleteAfterDays', '?')} days"
            + (", continuous" if rule.get("EnableContinuousBackup") else "")
            for plan in plans
            for rule in _props(plan)["BackupPlan"]["BackupPlanRule"]
        ]
        restore_plans = _of_type(template, "AWS::Backup::RestoreTestingPlan")
        selections = _of_type(template, "AWS::Backup::RestoreTestingSelection")
        restore_tests = (
            f"restore tests: {_props(restore_plans[0])['ScheduleExpression']}, "
            f"{len(selections)} selections"
            if restore_plans
            else "no restore tests"
        )
        (topic,) = _of_type(template, "AWS::SNS::Topic")
        dashboards = _of_type(template, "AWS::CloudWatch::Dashboard")
        region = next(iter(subnets))[:-1]
        return cls(
            stack=_path(cluster).split("/", 1)[0],
            region=region,
            vpc_cidr=_props(_of_type(template, "AWS::EC2::VPC")[0])["CidrBlock"],
            subnets=dict(sorted(subnets.items())),
            instances=dict(instances),
            engine=f"Aurora {_props(cluster)['Engine']} {_props(cluster)['EngineVersion']}",
            vpc_functions=[_props(f)["FunctionName"] for f in named if "VpcConfig" in _props(f)],
            other_functions=[
                _props(f)["FunctionName"] for f in named if "VpcConfig" not in _props(f)
            ],
            gateway_endpoints=sorted(
                _service(e) for e in endpoints if _props(e).get("VpcEndpointType") == "Gateway"
            ),
            interface_endpoints=sorted(
                _service(e) for e in endpoints if _props(e).get("VpcEndpointType") == "Interface"
            ),
            table=table_props.get("TableName", "table"),
            table_notes=", ".join(
                note
                for note, on in (
                    ("on-demand", table_props.get("BillingMode") == "PAY_PER_REQUEST"),
                    ("PITR", pitr.get("PointInTimeRecoveryEnabled")),
                    ("KMS", "SSESpecification" in table_props),
                )
                if on
            ),
            buckets=[_path(b).split("/")[-2] for b in _of_type(template, "AWS::S3::Bucket")],
            vault=_props(vault)["BackupVaultName"],
            backup_rules=rules,
            restore_tests=restore_tests,
            alarms=len(_of_type(template, "AWS::CloudWatch::Alarm")),
            rules=len(_of_type(template, "AWS::Events::Rule")),
            topic=_props(topic).get("TopicName", "topic"),
            dashboard=_props(dashboards[0]).get("DashboardName", "") if dashboards else "",
            keys=len(_of_type(template, "AWS::KMS::Key")),
            drills=sorted(
                _tag(t, "dr-constructs:drill") or "drill"
                for t in _of_type(template, "AWS::FIS::ExperimentTemplate")
            ),
        )


# --- drawing --------------------------------------------------------------------------------

_COLOURS = {
    "region": ("#f7f9fc", "#5a6b7b"),
    "vpc": ("#eef6ee", "#3f8624"),
    "az": ("#ffffff", "#7d8998"),
    "Public": ("#e8f1fb", "#2e73b8"),
    "Isolated": ("#f3f7ec", "#5b8c2a"),
    "compute": ("#fff3e0", "#d86613"),
    "database": ("#eef0fb", "#3b48cc"),
    "storage": ("#eaf6ea", "#3f8624"),
    "backup": ("#e6f7f5", "#1a8c7e"),
    "monitoring": ("#fbe9ef", "#c7254e"),
    "drills": ("#f6eefb", "#8c4fbf"),
    "security": ("#fdecea", "#dd344c"),
}


class Svg:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []

    def box(
        self, x: float, y: float, w: float, h: float, kind: str, title: str,
        lines: tuple[str, ...] | list[str] = (), dashed: bool = False, rx: int = 6,
    ) -> tuple[float, float, float, float]:  # fmt: skip
        fill, stroke = _COLOURS[kind]
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"{dash}/>'
        )
        self.text(x + 8, y + 17, title, bold=True, colour=stroke)
        for i, line in enumerate(lines):
            self.text(x + 8, y + 34 + 15 * i, line)
        return x, y, w, h

    def text(self, x: float, y: float, value: str, bold: bool = False, colour: str = "#232f3e",
             size: int = 12, anchor: str = "start") -> None:  # fmt: skip
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(
            f'<text x="{x}" y="{y}" font-size="{size}" fill="{colour}"{weight} '
            f'text-anchor="{anchor}">{escape(value)}</text>'
        )

    def arrow(self, points: list[tuple[float, float]], label: str = "", dashed: bool = False,
              colour: str = "#545b64") -> None:  # fmt: skip
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        path = " ".join(f"{x},{y}" for x, y in points)
        self.parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
            'marker-end="url(#arrow)"/>'
        )
        if label:
            (x1, y1), (x2, y2) = points[-2], points[-1]
            self.text((x1 + x2) / 2 + 4, (y1 + y2) / 2 - 4, label, size=11, colour=colour)

    def render(self, title: str) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            'font-family="Helvetica, Arial, sans-serif" role="img">\n'
            f"<title>{escape(title)}</title>\n"
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            'fill="#545b64"/></marker></defs>\n'
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.parts) + "\n</svg>\n"


def draw(arch: Architecture) -> str:
    """The SVG of ``arch``: the region, the VPC with one column per AZ, the gateway endpoints
    and the stores below it, AWS Backup under them, drills and monitoring on the right, and
    the flows between them."""
    svg = Svg(1200, 730)
    svg.text(20, 24, f"{arch.stack}: what the example app deploys", bold=True, size=15)
    svg.text(
        1180, 24, "generated from the synthesized template by scripts/architecture.py",
        size=11, colour="#5a6b7b", anchor="end",
    )  # fmt: skip
    svg.box(10, 36, 1180, 686, "region", f"AWS Region {arch.region}")
    svg.box(
        24, 62, 800, 418, "vpc", f"VPC {arch.vpc_cidr}",
        [f"{arch.engine} cluster across the AZs; no NAT gateway; flow logs to a KMS-encrypted "
         "log group"],
    )  # fmt: skip
    azs = list(arch.subnets)
    column_w = (800 - 24 - 12 * (len(azs) - 1)) / max(len(azs), 1)
    writer: tuple[float, float, float, float] | None = None
    readers: list[tuple[float, float, float, float]] = []
    isolated: list[tuple[float, float, float, float]] = []
    for i, az in enumerate(azs):
        x = 36 + i * (column_w + 12)
        svg.box(x, 106, column_w, 300, "az", f"Availability Zone {az}", dashed=True)
        y = 132
        for kind, cidr in sorted(arch.subnets[az], key=lambda s: s[0] != "Public"):
            if kind == "Public":
                svg.box(x + 10, y, column_w - 20, 50, "Public", f"public subnet {cidr}",
                        ["internet gateway route; no workload"])  # fmt: skip
                y += 62
                continue
            subnet = svg.box(x + 10, y, column_w - 20, 202, "Isolated",
                             f"isolated subnet {cidr}", ["no route to the internet"])  # fmt: skip
            isolated.append(subnet)
            inner = y + 44
            for name in arch.vpc_functions:
                svg.box(x + 20, inner, column_w - 40, 42, "compute", f"λ {name}",
                        ["health check, ENI here"])  # fmt: skip
                inner += 62
            for instance in arch.instances.get(az, []):
                role, size = instance.split()
                box = svg.box(x + 20, inner, column_w - 40, 42, "database", f"Aurora {role}",
                              [size])  # fmt: skip
                if role == "writer":
                    writer = box
                    svg.arrow([(x + column_w / 2, inner - 20), (x + column_w / 2, inner)],
                              "5432, TLS")  # fmt: skip
                else:
                    readers.append(box)
            inner = y + 166
            for interface in arch.interface_endpoints:
                svg.box(x + 20, inner, column_w - 40, 28, "security",
                        f"endpoint: {interface}")  # fmt: skip
            y += 214
    if writer:
        wx, wy, ww, wh = writer
        for rx_, ry, _, rh in readers:
            svg.arrow([(wx + ww, wy + wh / 2), (rx_, ry + rh / 2)], "replica", dashed=True)

    # gateway endpoints on the VPC's floor, the regional stores under them
    stores = {
        "dynamodb": svg.box(24, 512, 250, 60, "database", f"DynamoDB {arch.table}",
                            [arch.table_notes]),
        "s3": svg.box(288, 512, 250, 60, "storage", "S3 buckets",
                      [", ".join(arch.buckets) + "; versioned, KMS"]),
    }  # fmt: skip
    svg.box(552, 512, 272, 60, "security", f"KMS: {arch.keys} customer-managed keys",
            ["rotation on; Secrets Manager: the DB secret"])  # fmt: skip
    for i, service in enumerate(arch.gateway_endpoints):
        sx, _, sw, _ = stores.get(service, (552, 512, 272, 60))
        svg.box(sx + 25, 432, sw - 50, 28, "security", f"gateway endpoint: {service}")
        if i < len(isolated):
            ix, iy, iw, ih = isolated[i]
            svg.arrow([(ix + iw / 2, iy + ih), (ix + iw / 2, 432)])
        svg.arrow([(sx + sw / 2, 460), (sx + sw / 2, 512)])

    backup = svg.box(
        24, 604, 800, 104, "backup", f"AWS Backup: vault {arch.vault} (KMS)",
        [*arch.backup_rules, arch.restore_tests,
         *(f"restore validation: λ {name}" for name in arch.other_functions)],
    )  # fmt: skip
    bx, by, bw, bh = backup
    for sx, sy, sw, sh in stores.values():
        svg.arrow([(sx + sw / 2 + 60, by), (sx + sw / 2 + 60, sy + sh)], "backup")
    if writer:
        wx, wy, ww, wh = writer
        svg.arrow([(bx, by + 20), (17, by + 20), (17, wy + wh / 2), (wx, wy + wh / 2)])

    drills = svg.box(
        842, 62, 336, 40 + 15 * len(arch.drills), "drills",
        f"AWS FIS drills: {len(arch.drills)} templates", arch.drills,
    )  # fmt: skip
    dx, dy, _, dh = drills
    svg.arrow([(dx, dy + dh / 2), (824, dy + dh / 2)], "")
    svg.text(828, dy + dh / 2 - 6, "FIS", size=11, colour="#8c4fbf")
    svg.box(842, 250, 336, 130, "region", "Flows",
            ["solid arrow: data path or action",
             "dashed arrow: replication",
             "backup: scheduled and continuous recovery points",
             "metrics and backup job events: alarms, SNS",
             "drills: act on the cluster and the subnets"])  # fmt: skip
    monitoring = svg.box(
        842, 512, 336, 196, "monitoring", "Monitoring",
        [f"{arch.alarms} CloudWatch alarms", f"dashboard {arch.dashboard}",
         f"{arch.rules} EventBridge rules:", "backup, restore and copy jobs, drills",
         f"SNS topic {arch.topic} (KMS)"],
    )  # fmt: skip
    mx, my, _, _ = monitoring
    svg.arrow([(bx + bw, by + bh / 2), (mx, by + bh / 2)], "")
    svg.arrow([(824, 450), (mx, my + 30)], "")
    svg.text(828, 500, "metrics", size=11, colour="#545b64")
    svg.text(828, by + bh / 2 - 6, "events", size=11, colour="#545b64")
    return svg.render(f"{arch.stack} architecture, generated from its template")


def render(template: dict[str, Any]) -> str:
    return draw(Architecture.of(template))


def _main(argv: list[str]) -> Iterator[str]:
    target = Path(argv[0]) if argv else OUTPUT
    target.write_text(render(synthesize_example()))
    yield f"wrote {target}"


if __name__ == "__main__":
    for line in _main(sys.argv[1:]):
        print(line)
