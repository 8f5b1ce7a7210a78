"""Count the outcomes of the bad-input contract test in issue 10's categories.

Runs ``tests/test_contract.py`` with ``MEDAI_CONTRACT_REPORT`` set (every call is
recorded, nothing fails, examples are derandomised so two runs make the same calls),
then prints a table and writes it as JSON.

    python scripts/contract_report.py --examples 40 --out build/contract-report.json

``--check`` makes it exit 1 when one of the rows that must be zero is not (``nox -s tail``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40, help="Hypothesis examples per row (default 40)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a call counts as a hang")
    parser.add_argument("--out", type=Path, default=None, help="write the counts here as JSON")
    parser.add_argument("-k", default=None, help="pytest -k expression to select rows")
    parser.add_argument("--check", action="store_true", help="exit 1 when a row that must be zero is not")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "calls.jsonl"
        env = os.environ | {
            "MEDAI_CONTRACT_REPORT": str(log),
            "MEDAI_CONTRACT_EXAMPLES": str(args.examples),
            "MEDAI_CONTRACT_TIMEOUT": str(args.timeout),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "MPLBACKEND": "Agg",
        }
        cmd = [sys.executable, "-m", "pytest", "tests/test_contract.py", "-q", "-p", "no:xdist",
               "-k", "refused_by_name" + (f" and ({args.k})" if args.k else "")]
        subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    categories = collections.Counter()
    other_types = collections.Counter()
    rows_by = collections.defaultdict(set)
    for call in calls:
        outcome = call["outcome"]
        if outcome.startswith("other:"):
            other_types[outcome.removeprefix("other:")] += 1
            outcome = "other"
        categories[outcome] += 1
        if outcome not in ("named", "passthrough", "finite"):
            rows_by[outcome].add(call["row"])
    report = {
        "examples_per_row": args.examples,
        "calls": len(calls),
        "clean rejections naming the argument": categories["named"],
        "caller's own exception passed through": categories["passthrough"],
        "possibly valid value, finite result": categories["finite"],
        "other exception types": categories["other"],
        "other exception types by type": dict(other_types.most_common()),
        "ValueError/TypeError naming no argument": categories["unnamed"],
        "silent NaN/inf results": categories["nonfinite"],
        "bad input accepted": categories["accepted"],
        "rows failing, by category": {k: sorted(v) for k, v in rows_by.items()},
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    must_be_zero = ("other", "unnamed", "nonfinite", "accepted")
    return 1 if args.check and any(categories[k] for k in must_be_zero) else 0


if __name__ == "__main__":
    sys.exit(main())
