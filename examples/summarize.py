"""Print a summary of each stack in cdk.out: environment, resources by type, outputs, and the
DR posture (``{stack}.dr-posture.json`` beside the template) as a table."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(out_dir: Path) -> str:
    manifest = json.loads((out_dir / "manifest.json").read_text())
    lines: list[str] = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template_file = out_dir / artifact["properties"]["templateFile"]
        template = json.loads(template_file.read_text())
        resources = Counter(r["Type"] for r in template["Resources"].values())
        lines.append(f"Stack {name} ({artifact['environment']}) -> {template_file}")
        lines.append(f"  {sum(resources.values())} resources:")
        lines += [f"    {count:3d}  {type_}" for type_, count in sorted(resources.items())]
        outputs = template.get("Outputs", {})
        lines.append(f"  {len(outputs)} outputs: {', '.join(outputs)}")
        lines += _posture(template_file)
    return "\n".join(lines)


def _posture(template_file: Path) -> list[str]:
    posture_file = template_file.with_name(
        template_file.name.removesuffix(".template.json") + ".dr-posture.json"
    )
    if not posture_file.exists():
        return []
    report = json.loads(posture_file.read_text())
    lines = [f"  DR posture ({posture_file.name}):"]
    header = ("resource", "failure", "RPO s", "RTO s", "target RPO s", "target RTO s")
    rows = [header] + [
        (
            p["resource"],
            p["failure"],
            _seconds(p["rpo_seconds"]),
            _seconds(p["rto_seconds"]),
            _seconds(p["target_rpo_seconds"]),
            _seconds(p["target_rto_seconds"]),
        )
        for p in report["postures"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += [
        ("    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    return lines


def _seconds(value: int | None) -> str:
    return "none" if value is None else str(value)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
