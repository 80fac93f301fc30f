"""Issue 23's levers, one at a time: what each does to produce's and consume's speed at 10⁶ x 100 B.

    python bench/bench_levers.py [--messages 1000000] [--size 100] [--rounds 3] [--only produce|consume]

Each lever is a variant of one loop, run as its own process against the same lab in the same run;
the variants take turns (--rounds times each, after one warm-up each, the order reversed every
other round), and the figures are medians: messages per wall second, and CPU seconds (user +
system, os.wait4) per 10⁶ messages, which the load of other processes on the machine moves less.

produce (each run to a fresh topic of one partition, whose end offset is checked against the count):
- `kafkalab produce` as shipped, and with one client setting changed by -X (compression.type,
  linger.ms, batch.num.messages, enable.sparse.connections): the settings lever.
- A bare loop of confluent-kafka calls, for the levers the CLI has no switch for:
  blocks        input read 256 KiB at a time, split in C, produce() called from map(), a delivery
                report for failures only (delivery.report.only.error): kafkalab's loop;
  lines         one readline() and one produce() call per line, from a Python for loop;
  dr-all        blocks, with a delivery report per message, counted in Python;
  no-dr         blocks, with no delivery callback at all: the floor (it cannot count failures);
  batch         blocks, produce_batch() with one dict per message.
consume (each run reads the same topic of --messages messages to a file, whose size is checked):
- `kafkalab consume` as shipped, and with -X settings (fetch sizes);
- bare loops: consume(num_messages=N) batches of 100, 1,000 and 10,000 written with one write()
  each, and poll() per message written with one write() each.
small (`echo x | kafkalab produce T`, --small rounds): as shipped, kcat, and with -X settings undone.
With --baseline DIR (a tree holding another version's kafkalab package, such as
`git archive main kafkalab | tar -x -C DIR`) that version is one more variant of each.
The broker's CPU seconds during each run are printed too where the machine shows them (cgroup v1).

It runs its own lab (as bench_kcat.py does) and always takes it down. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_kcat import BASELINE, KAFKALAB, KCAT, Run, find_broker_cpu, free_port, load_images_env, make_input

# The bare loops: argv is MODE TOPIC BOOTSTRAP; stdin the input (produce) and stdout the output (consume).
_PRODUCE = r"""
import collections, itertools, sys
from confluent_kafka import Producer
mode, topic, bootstrap = sys.argv[1:4]
failed = [0]
delivered = [0]
def only_errors(err, msg):
    if err is not None:
        failed[0] += 1
def every(err, msg):
    if err is not None:
        failed[0] += 1
    else:
        delivered[0] += 1
conf = {"bootstrap.servers": bootstrap, "queue.buffering.max.messages": 110_000, "broker.address.family": "v4"}
if mode == "dr-all":
    conf["on_delivery"] = every
elif mode != "no-dr":
    conf.update({"delivery.report.only.error": True, "on_delivery": only_errors})
p = Producer(conf)
produce, poll = p.produce, p.poll
count = 0
def room(n):
    poll(0)
    while len(p) + n > 100_000:
        poll(0.01)
if mode == "lines":
    for line in sys.stdin.buffer:
        while True:
            try:
                produce(topic, line[:-1] if line.endswith(b"\n") else line)
                break
            except BufferError:
                poll(0.01)
        count += 1
        if count % 10_000 == 0:
            poll(0)
else:
    read, rest = sys.stdin.buffer.read1, b""
    while True:
        chunk = read(1 << 18)
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        room(len(lines))
        if mode == "batch":
            p.produce_batch(topic, [{"value": v} for v in lines])
        else:
            collections.deque(map(produce, itertools.repeat(topic), lines), maxlen=0)
        count += len(lines)
    if rest:
        produce(topic, rest)
        count += 1
while p.flush(0.5):
    pass
print(count - failed[0], count, failed[0], delivered[0], file=sys.stderr)
"""

_CONSUME = r"""
import sys
from confluent_kafka import Consumer, TopicPartition
mode, topic, bootstrap, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
              "broker.address.family": "v4", "fetch.queue.backoff.ms": 10, "queued.min.messages": 20_000})
c.assign([TopicPartition(topic, 0, 0)])
out = sys.stdout.buffer
value = None
count = 0
if mode == "poll":
    while count < expected:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        out.write(m.value() + b"\n")
        count += 1
else:
    n = int(mode.partition("-")[2])
    while count < expected:
        batch = c.consume(n, 1.0)
        if not batch:
            continue
        value = value or type(batch[0]).value
        values = list(map(value, batch))
        values.append(b"")
        out.write(b"\n".join(values))
        count += len(batch)
out.flush()
c.close()
"""


@dataclasses.dataclass
class Row:
    rate: float  # median msgs/s (wall)
    cpu: float  # median CPU s per 10^6 messages
    broker_cpu: float | None  # median broker CPU s per 10^6 messages


def median_rows(label: str, rounds: int, messages: int, variants: dict[str, Callable[[int], Run]]) -> dict[str, Row]:
    """Alternate the variants `rounds` times, after one warm-up each; the medians per variant."""
    runs: dict[str, list[Run]] = {name: [] for name in variants}
    names = list(variants)
    for name in names:
        variants[name](-1)
    per_million = 1e6 / messages
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            run = variants[name](round_no)
            runs[name].append(run)
            broker = f"  broker {run.broker_cpu * per_million:5.2f} s" if run.broker_cpu is not None else ""
            print(f"  {label} round {round_no + 1} {name:44s} {messages / run.seconds:>10,.0f} msgs/s  "
                  f"cpu {run.cpu * per_million:5.2f} s/10^6{broker}", flush=True)
    rows = {}
    for name, found in runs.items():
        brokers = [r.broker_cpu for r in found if r.broker_cpu is not None]
        rows[name] = Row(statistics.median(messages / r.seconds for r in found),
                         statistics.median(r.cpu for r in found) * per_million,
                         statistics.median(brokers) * per_million if brokers else None)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["produce", "consume", "small"])
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a variant `kafkalab produce -X KEY=VALUE` (repeatable; several in one with commas)")
    parser.add_argument("--loops", default="blocks,lines,dr-all,no-dr,batch", help="the bare produce loops to run")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a tree with another version's kafkalab package: one more variant")
    parser.add_argument("--small", type=int, default=12, help="runs of each small-input variant")
    args = parser.parse_args()

    load_images_env()
    from kafkalab import Lab
    from kafkalab.settings import resolve

    settings = resolve({"project": f"klbench-levers-{os.getpid()}", "port": free_port(), "ui_port": free_port()})
    lab = Lab(settings)
    print(f"Starting the lab {settings.project} on {settings.bootstrap_servers} ...", flush=True)
    results: dict[str, dict[str, Row]] = {}
    try:
        lab.up(ui=False)
        Run.broker = find_broker_cpu(settings.project)
        with tempfile.TemporaryDirectory(prefix="bench-levers-") as tmp:
            bench = Levers(lab.bootstrap_servers, Path(tmp), args)
            for part in ("produce", "consume", "small"):
                if args.only in (None, part):
                    results[part] = getattr(bench, part)()
    finally:
        print(f"Taking the lab {settings.project} down ...", flush=True)
        lab.down(volumes=True)
    report(args, results)


class Levers:
    def __init__(self, bootstrap: str, work: Path, args: argparse.Namespace) -> None:
        from kafkalab.kafka import topics

        self.topics = topics
        self.bootstrap, self.args, self.n = bootstrap, args, args.messages
        self.source, self.sink, self.empty = work / "input.txt", work / "output.txt", work / "empty"
        make_input(self.source, self.n, args.size)
        self.empty.write_bytes(b"")
        self.made = 0
        self.kcat = [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4"]
        self.baseline_env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())} if args.baseline else None

    def fresh_topic(self) -> str:
        self.made += 1
        name = f"lever-{self.made}"
        self.topics.create_topic(self.bootstrap, name)
        return name

    def holds(self, topic: str) -> int:
        return sum(p.end_offset for p in self.topics.describe_topic(self.bootstrap, topic).partitions)

    def produced(self, cmd: Callable[[str], list[str]], env: dict[str, str] | None = None) -> Callable[[int], Run]:
        def run(_round: int) -> Run:
            topic = self.fresh_topic()
            done = Run(cmd(topic), self.source, self.sink, env)
            assert self.holds(topic) == self.n, f"{topic} holds {self.holds(topic)}, not {self.n}"
            return done
        return run

    def produce(self) -> dict[str, Row]:
        b = self.bootstrap
        variants: dict[str, Callable[[int], Run]] = {
            "kafkalab produce": self.produced(lambda t: [*KAFKALAB, "produce", t, "-b", b]),
            "kcat -P": self.produced(lambda t: [*self.kcat, "-P", "-t", t]),
        }
        if self.baseline_env is not None:
            variants["kafkalab produce (baseline)"] = self.produced(
                lambda t: [*BASELINE, "produce", t, "-b", b], self.baseline_env)
        for given in self.args.setting or ["compression.type=none", "linger.ms=0", "linger.ms=50",
                                           "batch.num.messages=100000", "enable.sparse.connections=true"]:
            xs = [x for kv in given.split(",") for x in ("-X", kv)]
            variants[f"kafkalab -X {given}"] = self.produced(lambda t, xs=xs: [*KAFKALAB, "produce", t, "-b", b, *xs])
        for mode in filter(None, self.args.loops.split(",")):
            variants[f"loop {mode}"] = self.produced(lambda t, mode=mode: [sys.executable, "-c", _PRODUCE, mode, t, b])
        return median_rows("produce", self.args.rounds, self.n, variants)

    def consume(self) -> dict[str, Row]:
        b, n = self.bootstrap, self.n
        topic = "consume-source"
        self.topics.create_topic(b, topic)
        Run([*self.kcat, "-P", "-t", topic], self.source, self.sink)
        assert self.holds(topic) == n

        def checked(cmd: list[str], env: dict[str, str] | None = None) -> Callable[[int], Run]:
            def run(_round: int) -> Run:
                done = Run(cmd, self.empty, self.sink, env)
                assert self.sink.stat().st_size == n * (self.args.size + 1), f"{cmd} wrote {self.sink.stat().st_size}"
                return done
            return run

        mine = [*KAFKALAB, "consume", topic, "--from-beginning", "-b", b]
        variants = {
            "kafkalab consume": checked(mine),
            "kcat -C -e": checked([*self.kcat, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]),
            "kafkalab -X enable.sparse.connections=true": checked([*mine, "-X", "enable.sparse.connections=true"]),
        }
        if self.baseline_env is not None:
            variants["kafkalab consume (baseline)"] = checked(
                [*BASELINE, "consume", topic, "--from-beginning", "-b", b], self.baseline_env)
        for mode in ("consume-100", "consume-1000", "consume-10000", "poll"):
            variants[f"loop {mode}"] = checked([sys.executable, "-c", _CONSUME, mode, topic, b, str(n)])
        return median_rows("consume", self.args.rounds, n, variants)

    def small(self) -> dict[str, Row]:
        """`echo x | kafkalab produce T`: a rate of one message, so that the table can hold it."""
        b = self.bootstrap
        one = self.sink.with_name("one")
        one.write_bytes(b"x\n")
        topic = "small-input"
        self.topics.create_topic(b, topic)
        mine = [*KAFKALAB, "produce", topic, "-b", b]
        commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "kafkalab produce": (mine, None),
            "kcat -P": ([*self.kcat, "-P", "-t", topic], None),
            "kafkalab -X enable.sparse.connections=true": ([*mine, "-X", "enable.sparse.connections=true"], None),
            "kafkalab -X compression.type=none": ([*mine, "-X", "compression.type=none"], None),
        }
        if self.baseline_env is not None:
            commands["kafkalab produce (baseline)"] = (
                [*BASELINE, "produce", topic, "-b", b], self.baseline_env)
        variants = {name: (lambda _r, c=cmd, e=env: Run(c, one, self.sink, e)) for name, (cmd, env) in commands.items()}
        return median_rows("small", self.args.small, 1, variants)


def report(args: argparse.Namespace, results: dict[str, dict[str, Row]]) -> None:
    print(f"\n{args.messages:,} messages of {args.size} B, {args.rounds} rounds each, medians "
          f"(small input: one message, {args.small} rounds):")
    for label, rows in results.items():
        base = rows["kafkalab produce" if label == "small" else f"kafkalab {label}"]
        kcat = rows["kcat -C -e" if label == "consume" else "kcat -P"]
        if label == "small":
            print(f"  {'echo x | ...':<44s} {'wall s':>10s} {'CPU s':>10s} {'broker CPU s':>12s}")
            for name, row in rows.items():
                broker = f"{row.broker_cpu / 1e6:12.3f}" if row.broker_cpu is not None else ""
                print(f"  {name:<44s} {1 / row.rate:>10.3f} {row.cpu / 1e6:>10.3f} {broker}")
            continue
        print(f"  {label:<44s} {'msgs/s':>10s} {'x kcat':>7s} {'x shipped':>9s} {'CPU s/10^6':>10s} {'broker':>7s}")
        for name, row in rows.items():
            broker = f"{row.broker_cpu:7.2f}" if row.broker_cpu is not None else ""
            print(f"  {name:<44s} {row.rate:>10,.0f} {row.rate / kcat.rate:>7.2f} {row.rate / base.rate:>9.2f} "
                  f"{row.cpu:>10.2f} {broker}")


if __name__ == "__main__":
    main()
