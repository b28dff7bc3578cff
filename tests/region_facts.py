"""dr-constructs' region data (``src/dr_constructs/data/regions.json``) as cfn-lint's data gives
it: CloudFormation's resource registry per region (``cfnlint/data/schemas/providers/*.json``,
what E3006 reads) and RDS's instance classes per region and engine
(``cfnlint/data/schemas/extensions/aws_rds_dbinstance/dbinstanceclass_enum.json``, E3025).

``python -m tests.region_facts`` rewrites the package's file after a cfn-lint upgrade;
``tests/test_regions.py`` fails while the two differ.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cfnlint.data.schemas
from cfnlint.helpers import REGIONS

from dr_constructs.regions import AURORA_CLASS_PREFERENCE, DATA_FILE, FEATURES

SCHEMAS = Path(cfnlint.data.schemas.__file__).parent
PROVIDERS = SCHEMAS / "providers"
RDS_CLASSES = SCHEMAS / "extensions" / "aws_rds_dbinstance" / "dbinstanceclass_enum.json"
#: The partitions the library supports: commercial, China and GovCloud (not ISO or EUSC).
PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}


def partition(region: str) -> str | None:
    """``aws``, ``aws-cn`` or ``aws-us-gov``; None for the partitions the library leaves out."""
    if "iso" in region or region.startswith("eusc-"):
        return None
    return next((p for prefix, p in PARTITIONS.items() if region.startswith(prefix)), "aws")


def supported_regions() -> list[str]:
    """Every commercial, China and GovCloud region cfn-lint knows (its ``REGIONS``)."""
    return [r for r in REGIONS if partition(r)]


def registry(region: str) -> set[str] | None:
    """The resource types CloudFormation has in ``region``, or None when cfn-lint carries no
    registry of its own for it (cfn-lint then checks the region against us-east-1's)."""
    path = PROVIDERS / f"{region}.json"
    return set(json.loads(path.read_text())) if path.exists() else None


def aurora_postgresql_classes(region: str) -> set[str] | None:
    """The Aurora PostgreSQL classes RDS offers in ``region`` (``db.`` included), per cfn-lint."""
    data = json.loads(RDS_CLASSES.read_text()).get(region)
    if data is None:
        return None
    for branch in data.get("allOf", []):
        condition = branch["if"]["properties"]
        if condition.get("Engine", {}).get("const") == "aurora-postgresql":
            return set(branch["then"]["properties"]["DBInstanceClass"]["enum"])
    return None


def tracked_types() -> list[str]:
    return sorted({t for f in FEATURES.values() for t in f.resource_types})


def expected() -> dict[str, Any]:
    schema_date = json.loads((SCHEMAS / "version.json").read_text())["schema_date"]
    cfn_lint = f"cfn-lint {version('cfn-lint')}"
    missing: dict[str, list[str]] = {}
    classes: dict[str, str] = {}
    for region in supported_regions():
        types = registry(region)
        if types is not None:
            missing[region] = [t for t in tracked_types() if t not in types]
        offered = aurora_postgresql_classes(region)
        if offered is not None:
            default = next((c for c in AURORA_CLASS_PREFERENCE if f"db.{c}" in offered), None)
            if default is not None:
                classes[region] = default
    return {
        "source": (
            f"{cfn_lint} (schemas of {schema_date}): CloudFormation's resource registry per "
            "region (cfnlint/data/schemas/providers/<region>.json, cfn-lint rule E3006) and "
            "RDS's instance classes per region and engine (cfnlint/data/schemas/extensions/"
            "aws_rds_dbinstance/dbinstanceclass_enum.json, rule E3025). Regenerate with "
            "`python -m tests.region_facts`."
        ),
        "source_short": f"{cfn_lint}'s CloudFormation registry of {schema_date[:10]}",
        "resource_types": tracked_types(),
        "missing_resource_types": missing,
        "aurora_postgresql_class": classes,
    }


def render() -> str:
    return json.dumps(expected(), indent=1) + "\n"


if __name__ == "__main__":
    DATA_FILE.write_text(render())
    print(f"wrote {DATA_FILE}")


#: Column order of the region table in docs/regions.md: DrPlatform props.
TABLE_FEATURES = (
    "restore_tests", "drills", "resilience_hub", "air_gapped_retention", "audit_reports", "proxy",
)  # fmt: skip


def region_table() -> str:
    """docs/regions.md's table: per group of regions with the same facts, which assurance
    features exist there and the default Aurora class (from the package's data)."""
    from dr_constructs.regions import missing_types, region_data

    data = region_data()
    groups: dict[tuple[tuple[bool, ...], str], list[str]] = {}
    for region in supported_regions():
        if region not in data["missing_resource_types"]:
            continue
        has = tuple(not missing_types(region, f) for f in TABLE_FEATURES)
        aurora = data["aurora_postgresql_class"].get(region, AURORA_CLASS_PREFERENCE[0])
        groups.setdefault((has, aurora), []).append(region)
    header = "| regions | " + " | ".join(f"`{f}`" for f in TABLE_FEATURES) + " | Aurora default |"
    lines = [header, "|" + " --- |" * (len(TABLE_FEATURES) + 2)]
    for (has, aurora), regions in sorted(groups.items(), key=lambda g: (-sum(g[0][0]), g[1])):
        marks = ["**on**" if f == "restore_tests" and h else ("yes" if h else "no")
                 for f, h in zip(TABLE_FEATURES, has, strict=True)]  # fmt: skip
        lines.append(f"| {', '.join(regions)} | " + " | ".join(marks) + f" | `db.{aurora}` |")
    return "\n".join(lines)
