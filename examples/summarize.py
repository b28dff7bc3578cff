"""Print a summary of each stack in cdk.out: environment, resources by type, outputs."""

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
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
