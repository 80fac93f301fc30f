"""gc.freeze() at exit (once in kafkalab.cli.main.main, removed on this figure): worth it?

    python bench/bench_exit.py [--runs 10]

Times `kafkalab down` on a lab that does not exist (it imports python_on_whales, so pydantic's
objects are there for Python's last collections to walk, and removes nothing), as whole processes,
with gc.freeze() after main() and without, alternating, and prints the two medians and
their ratio. No Docker objects are made or removed. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

RUN = "from kafkalab._console import main; main()"
VARIANTS = {
    "with gc.freeze": "import gc\nfrom kafkalab._console import main\ntry:\n    main()\nfinally:\n    gc.freeze()",
    "without": RUN,
}


def once(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "down"], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kafkalab down failed ({done.returncode}): {done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = {**os.environ, "KAFKALAB_PROJECT": f"benchexit{uuid.uuid4().hex[:8]}"}
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    once(RUN, env)  # warm the page cache and the .pyc files
    for _ in range(args.runs):
        for name, code in VARIANTS.items():
            times[name].append(once(code, env))
    medians = {name: statistics.median(found) for name, found in times.items()}
    for name, median in medians.items():
        print(f"{name:>15}: median {median:.3f} s over {args.runs} runs")
    saved = medians["without"] - medians["with gc.freeze"]
    print(f"ratio with/without: {medians['with gc.freeze'] / medians['without']:.2f}; saved {saved:.3f} s")


if __name__ == "__main__":
    main()
