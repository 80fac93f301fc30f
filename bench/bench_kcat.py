"""`kafkalab produce` and `kafkalab consume` against kcat, on the same broker, in the same run.

    python bench/bench_kcat.py [--messages 1000000] [--size 100] [--rounds 3]

1. `kafkalab produce T < FILE` against `kcat -P -t T < FILE`                        target >= 0.8x kcat's msgs/s
2. `kafkalab consume T --from-beginning` against `kcat -C -t T -o beginning -e`      target >= 0.8x kcat's msgs/s

FILE holds --messages lines of --size bytes. Each produce run writes to a fresh topic of one partition;
every consume run reads the same topic of exactly --messages messages to a file, whose size is
checked. A figure is the whole process, start to exit, as a user sees it: messages / wall seconds.
After one warm-up run each (not counted: the broker's JIT compiler, the page cache), the tools
take turns, --rounds times each, in alternating order; the figures are the medians. Peak
RSS is the largest VmHWM of a tool's runs. kcat runs with its defaults, like kafkalab.

It runs its own lab (a project name of its own, free ports, no UI; the test bed's images from
tests/bed/images.env unless KAFKALAB_IMAGE_* are set) and always takes it down. Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES_ENV = ROOT / "tests" / "bed" / "images.env"
KCAT = shutil.which("kcat") or "/usr/bin/kcat"
_SCRIPT = Path(sys.executable).parent / "kafkalab"
KAFKALAB = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "kafkalab"]
TARGET = 0.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_images_env() -> None:
    for line in IMAGES_ENV.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            os.environ.setdefault(key, value)


class Run:
    """One process: wall seconds, CPU seconds (os.wait4) and peak RSS in KiB.

    Peak RSS is /proc/PID/status VmHWM, read every 10 ms while the process runs: wait4's ru_maxrss
    would include the memory of this (larger) Python process, which the child is forked from.
    """

    def __init__(self, cmd: list[str], stdin: Path, stdout: Path) -> None:
        with stdin.open("rb") as src, stdout.open("wb") as dst:
            started = time.perf_counter()
            process = subprocess.Popen(cmd, stdin=src, stdout=dst, stderr=subprocess.PIPE)
            peak = [0]
            watcher = threading.Thread(target=_watch_hwm, args=(process.pid, peak), daemon=True)
            watcher.start()
            assert process.stderr is not None
            errors = process.stderr.read()
            _, status, usage = os.wait4(process.pid, 0)
            self.seconds = time.perf_counter() - started
            watcher.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({process.returncode}): {errors.decode()[-500:]}")
        self.cpu = usage.ru_utime + usage.ru_stime
        self.rss_kib = peak[0]


def _watch_hwm(pid: int, peak: list[int]) -> None:
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return  # reaped
        found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
        if found is None:
            return  # a zombie: it has exited, and its memory is gone
        peak[0] = max(peak[0], int(found.group(1)))
        time.sleep(0.01)


def make_input(path: Path, messages: int, size: int) -> None:
    """Lines of `size` bytes: a counter, then printable filler that differs from line to line."""
    filler = [bytes((97 + (i * 7 + j) % 26) for j in range(size - 10)) for i in range(997)]
    with path.open("wb") as out:
        for start in range(0, messages, 100_000):
            stop = min(start + 100_000, messages)
            out.write(b"".join(b"%010d" % i + filler[i % 997] + b"\n" for i in range(start, stop)))


# The produce() calls alone, in a fresh interpreter: a producer whose broker never answers (a closed
# port on 127.0.0.1) only queues, so this is confluent-kafka's own cost per message, with no
# network, no broker and no delivery. It bounds what any produce loop on confluent-kafka can reach.
_CALLS_ALONE = """
import collections, itertools, socket, sys, time
from confluent_kafka import Producer
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
lines = open(sys.argv[1], "rb").read().split(b"\\n")[:-1]
p = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "queue.buffering.max.messages": len(lines) + 1,
              "queue.buffering.max.kbytes": 2**21, "delivery.report.only.error": True,
              "on_delivery": lambda e, m: None, "log_level": 0})
start = time.process_time()
collections.deque(map(p.produce, itertools.repeat("t"), lines), maxlen=0)
print(time.process_time() - start)
p.purge()
"""


def produce_calls_alone(source: Path) -> float:
    """CPU seconds of one produce() call per line of source, from a Python loop in C (map)."""
    done = subprocess.run([sys.executable, "-c", _CALLS_ALONE, str(source)], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.split()[0])


def compare(
    label: str, rounds: int, messages: int, tools: dict[str, Callable[[int], Run]],
) -> dict[str, tuple[float, int, list[float], float]]:
    """Alternate the tools `rounds` times; per tool: median msgs/s, peak RSS, all rates, median CPU s."""
    runs: dict[str, list[Run]] = {name: [] for name in tools}
    names = list(tools)
    for name in names:  # one warm-up each, not counted: the broker's JIT and the page cache
        tools[name](-1)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            run = tools[name](round_no)
            runs[name].append(run)
            print(f"  {label} round {round_no + 1} {name:9s} {messages / run.seconds:>12,.0f} msgs/s  "
                  f"{run.seconds:6.2f} s  cpu {run.cpu:5.2f} s  rss {run.rss_kib / 1024:6.1f} MiB", flush=True)
    return {
        name: (
            statistics.median(messages / r.seconds for r in found), max(r.rss_kib for r in found),
            [messages / r.seconds for r in found], statistics.median(r.cpu for r in found),
        )
        for name, found in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.messages

    load_images_env()
    from kafkalab import Lab
    from kafkalab.kafka import topics
    from kafkalab.settings import resolve

    settings = resolve({"project": f"klbench-kcat-{os.getpid()}", "port": free_port(), "ui_port": free_port()})
    lab = Lab(settings)
    print(f"Starting the lab {settings.project} on {settings.bootstrap_servers} ...", flush=True)
    try:
        lab.up(ui=False)
        bootstrap = lab.bootstrap_servers
        with tempfile.TemporaryDirectory(prefix="bench-kcat-") as tmp:
            work = Path(tmp)
            source, sink, empty = work / "input.txt", work / "output.txt", work / "empty"
            make_input(source, n, args.size)
            empty.write_bytes(b"")
            kcat = [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4"]

            def fresh_topic(tool: str, round_no: int) -> str:
                name = f"produce-{tool}-{round_no + 1}"
                topics.create_topic(bootstrap, name)
                return name

            produce = compare("produce", args.rounds, n, {
                "kcat": lambda r: Run([*kcat, "-P", "-t", fresh_topic("kcat", r)], source, sink),
                "kafkalab": lambda r: Run([*KAFKALAB, "produce", fresh_topic("kafkalab", r), "-b", bootstrap],
                                          source, sink),
            })

            topic = "consume-source"
            topics.create_topic(bootstrap, topic)
            Run([*kcat, "-P", "-t", topic], source, sink)
            stored = topics.describe_topic(bootstrap, topic).partitions[0].end_offset
            assert stored == n, f"{topic} holds {stored} messages, not {n}"

            def checked(cmd: list[str]) -> Run:
                run = Run(cmd, empty, sink)
                assert sink.stat().st_size == n * (args.size + 1), f"{cmd[0]} wrote {sink.stat().st_size} bytes"
                return run

            consume = compare("consume", args.rounds, n, {
                "kcat": lambda r: checked([*kcat, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]),
                "kafkalab": lambda r: checked([*KAFKALAB, "consume", topic, "--from-beginning", "-b", bootstrap]),
            })
            calls = statistics.median(produce_calls_alone(source) for _ in range(args.rounds))
    finally:
        print(f"Taking the lab {settings.project} down ...", flush=True)
        lab.down(volumes=True)

    print(f"\n{n:,} messages of {args.size} bytes, {args.rounds} rounds each, medians (msgs/s over wall time):")
    for label, found, kcat_cmd in (("produce", produce, "kcat -P"), ("consume", consume, "kcat -C -e")):
        (ours, our_rss, _, our_cpu), (theirs, their_rss, _, their_cpu) = found["kafkalab"], found["kcat"]
        ratio = ours / theirs
        verdict = "meets" if ratio >= TARGET else "misses"
        print(f"  kafkalab {label:8s} {ours:>12,.0f} msgs/s  cpu {our_cpu:5.2f} s  peak RSS {our_rss / 1024:6.1f} MiB")
        print(f"  {kcat_cmd:17s} {theirs:>12,.0f} msgs/s  cpu {their_cpu:5.2f} s  peak RSS {their_rss / 1024:6.1f} MiB")
        print(f"  ratio {ratio:.2f} ({verdict} the target of {TARGET})")
        if label == "produce":
            print(f"  of kafkalab's {our_cpu:.2f} CPU s, confluent-kafka's produce() calls alone (no broker, no "
                  f"delivery) take {calls:.2f}: {calls / their_cpu:.2f}x all of kcat's {their_cpu:.2f} CPU s")


if __name__ == "__main__":
    main()
