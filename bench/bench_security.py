"""What a secured listener adds to `up`: cold `kafkalab up --no-ui --security MODE` against cold
`kafkalab up --no-ui --security plaintext`, same run, alternating, medians of --runs (default 3).

    python bench/bench_security.py [--runs 3] [--security sasl-ssl] [--mode kraft]

A secured `up` makes the lab's CA and certificates (kafkalab.security.certs) and, once the brokers
run, its SCRAM users with Kafka's ConfigCommand in the first broker's container (a JVM of its own):
this prints the seconds each `up` took, per run and as medians, and the difference.

It runs its own labs (a project name of its own, free ports; the bed's images from tests/bed/images.env
unless KAFKALAB_IMAGE_* are set) and always takes them down. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_boot import bed_env
from bench_boot import kafkalab as run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--security", default="sasl-ssl")
    parser.add_argument("--mode", default="kraft")
    args = parser.parse_args()
    env = bed_env(f"klbench-security-{os.getpid()}")
    env["KAFKALAB_TIMEOUT"] = "300"
    seconds: dict[str, list[float]] = {"plaintext": [], args.security: []}
    try:
        for n in range(args.runs):
            for security in (("plaintext", args.security) if n % 2 == 0 else (args.security, "plaintext")):
                run(env, "down", "--volumes", "--yes")
                took = run(env, "up", "--no-ui", "--mode", args.mode, "--security", security)
                seconds[security].append(took)
                print(f"run {n + 1} {security:>10}: up {took:.1f} s", flush=True)
    finally:
        run(env, "down", "--volumes", "--yes")
    plain, secured = (statistics.median(seconds[k]) for k in ("plaintext", args.security))
    print(f"\nmedians of {args.runs} ({args.mode}): cold up --no-ui plaintext {plain:.1f} s; "
          f"{args.security} {secured:.1f} s; {secured - plain:+.1f} s")


if __name__ == "__main__":
    main()
