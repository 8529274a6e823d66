"""Cold start, as a serverless authUrl endpoint pays it: a fresh interpreter that imports
the installed (non-editable) package and mints one JWT, against a fresh interpreter that
does `import ably`, and one that imports pyjwt and calls `jwt.encode` once.

    python benchmarks/bench_cold_start.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import Ratio, fresh_interpreter

ROOT = Path(__file__).resolve().parent.parent
KEY = "appId.keyId:bW9jay1zZWNyZXQtZm9yLWJlbmNobWFya3MtMDAwMDAw"

OURS = f"""
from datetime import timedelta
from ably_authkit import mint_jwt
mint_jwt({KEY!r}, capability={{"chat:*": ["subscribe"]}}, client_id="u", ttl=timedelta(hours=1))
"""
PYJWT = f"""
import time, jwt
now = int(time.time())
jwt.encode({{"iat": now, "exp": now + 3600, "x-ably-capability": '{{"chat:*":["subscribe"]}}',
            "x-ably-clientId": "u"}}, {KEY.split(":")[1]!r}, algorithm="HS256",
           headers={{"kid": {KEY.split(":")[0]!r}}})
"""
ABLY = "import ably"


def main() -> int:
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                target,
                str(ROOT),
            ],
            check=True,
        )
        env = dict(os.environ, PYTHONPATH=target, PYTHONDONTWRITEBYTECODE="")
        check = "import ably_authkit, sys; print(ably_authkit.__file__)"
        where = subprocess.run(
            [sys.executable, "-c", check],
            env=env,
            cwd=target,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert where.startswith(target), f"benchmarking the wrong copy: {where}"
        results = [
            Ratio(
                "cold start: import + mint one JWT",
                *fresh_interpreter(OURS, ABLY, env=env, cwd=target),
                "import ably",
                0.3,
            ),
            Ratio(
                "cold start: import + mint one JWT",
                *fresh_interpreter(OURS, PYJWT, env=env, cwd=target),
                "import jwt + encode",
                0.5,
            ),
        ]
        for result in results:
            print(result.line())
        print("\nWhere our import time goes (python -X importtime, top 8, µs cumulative):")
        trace = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", OURS],
            env=env,
            cwd=target,
            capture_output=True,
            text=True,
            check=True,
        ).stderr.splitlines()
        rows = [line.split("|") for line in trace if line.startswith("import time:")][1:]
        rows.sort(key=lambda row: -int(row[1]))
        for _, cumulative, name in rows[:8]:
            print(f"  {int(cumulative):7d}  {name.rstrip()}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
