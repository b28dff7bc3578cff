"""Synthesis cost per resource: the example app against the hand-written seed stack.

``./dev bench:synth [--rounds N]`` runs three apps, each in a fresh process as the CDK CLI
runs them (the example's ``cdk.json`` context in ``CDK_CONTEXT_JSON``, the assembly written
to ``CDK_OUTDIR``): an (almost) empty stack, the hand-written stack of
``examples/handwritten/app.py`` (without its posture check, which fails that synthesis on
purpose) and the example app (``examples/app.py``). The runs are paired: each round runs all
three, in an order that rotates from round to round, so a busy machine slows them alike. It
prints the median wall time of each, its resource count, and::

    ratio = ((example - empty) / example_resources)
            / ((handwritten - empty) / handwritten_resources)

the library's synthesis cost per resource relative to plain aws-cdk-lib L2 constructs (1.0:
as costly; the project keeps it at 0.80 or less). A benchmark to read, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ENV = "env=cdk.Environment(account='123456789012', region='us-east-1')"
#: Each app as a program for ``python -c``, run with ``examples/`` as the working directory.
APPS = {
    # one property-less resource: CloudFormation (and CDK's validation) refuse no Resources
    "empty": (
        "import aws_cdk as cdk\napp = cdk.App()\n"
        f"cdk.CfnWaitConditionHandle(cdk.Stack(app, 'Empty', {ENV}), 'Nothing')\napp.synth()"
    ),
    "handwritten": (
        "import sys\nsys.path.insert(0, 'handwritten')\nimport aws_cdk as cdk\n"
        "from app import HandWrittenDrStack\napp = cdk.App()\n"
        f"HandWrittenDrStack(app, 'HandWrittenDr', {ENV})\napp.synth()"
    ),
    "example": "import runpy\nrunpy.run_path('app.py', run_name='__main__')",
}


def run(name: str, outdir: Path) -> tuple[float, int]:
    """Seconds to synthesize app ``name`` in a fresh process, and its resource count."""
    context = json.loads((EXAMPLES / "cdk.json").read_text())["context"]
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", APPS[name]], cwd=EXAMPLES, env=env, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    resources = sum(
        len(json.loads(t.read_text()).get("Resources", {})) for t in outdir.glob("*.template.json")
    )
    return seconds, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds (default 5)")
    rounds = parser.parse_args().rounds
    names = list(APPS)
    times: dict[str, list[float]] = {n: [] for n in names}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                seconds, counts[name] = run(name, Path(tmp, f"{name}-{r}"))
                times[name].append(seconds)
    median = {n: statistics.median(t) for n, t in times.items()}
    for name in names:
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"{name:12} {median[name]:6.2f} s median ({spread}) {counts[name]:4} resources")
    per_example = (median["example"] - median["empty"]) / counts["example"]
    per_handwritten = (median["handwritten"] - median["empty"]) / counts["handwritten"]
    print(f"cost per resource, example / hand-written: {per_example / per_handwritten:.2f}")


if __name__ == "__main__":
    main()
