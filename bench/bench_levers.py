"""Issue 23's levers, one at a time: what each does to produce's and consume's speed at 10⁶ x 100 B.

    python bench/bench_levers.py [--messages 1000000] [--size 100] [--rounds 3] [--only produce|consume]

Each lever is a variant of one loop, run as its own process against the same lab in the same run;
the variants take turns (--rounds times each, after one warm-up each, the order reversed every
other round), and the figures are medians: messages per wall second, and CPU seconds (user +
system, os.wait4) per 10⁶ messages, which the load of other processes on the machine moves less.

produce (each run to a fresh topic of one partition, whose end offset is checked against the count):
- `kafkalab produce` as shipped, and with one client setting changed by -X (linger.ms, batch.size,
  batch.num.messages, compression.type): the settings lever.
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

It runs its own lab (as bench_kcat.py does) and always takes it down. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_kcat import KAFKALAB, KCAT, Run, free_port, load_images_env, make_input

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


def median_rows(
    label: str, rounds: int, messages: int, variants: dict[str, Callable[[int], Run]],
) -> dict[str, tuple[float, float]]:
    """Alternate the variants; per variant its median msgs/s and median CPU s per 10⁶ messages."""
    runs: dict[str, list[Run]] = {name: [] for name in variants}
    names = list(variants)
    for name in names:
        variants[name](-1)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            run = variants[name](round_no)
            runs[name].append(run)
            print(f"  {label} round {round_no + 1} {name:34s} {messages / run.seconds:>10,.0f} msgs/s  "
                  f"cpu {run.cpu * 1e6 / messages:5.2f} s/10^6", flush=True)
    return {
        name: (statistics.median(messages / r.seconds for r in found),
               statistics.median(r.cpu for r in found) * 1e6 / messages)
        for name, found in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["produce", "consume"])
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a produce variant of `kafkalab -X KEY=VALUE produce` (repeatable); "
                             "several in one with commas")
    parser.add_argument("--loops", default="blocks,lines,dr-all,no-dr,batch", help="the bare produce loops to run")
    args = parser.parse_args()
    n = args.messages

    load_images_env()
    from kafkalab import Lab
    from kafkalab.kafka import topics
    from kafkalab.settings import resolve

    settings = resolve({"project": f"klbench-levers-{os.getpid()}", "port": free_port(), "ui_port": free_port()})
    lab = Lab(settings)
    print(f"Starting the lab {settings.project} on {settings.bootstrap_servers} ...", flush=True)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        lab.up(ui=False)
        bootstrap = lab.bootstrap_servers
        with tempfile.TemporaryDirectory(prefix="bench-levers-") as tmp:
            work = Path(tmp)
            source, sink, empty = work / "input.txt", work / "output.txt", work / "empty"
            make_input(source, n, args.size)
            empty.write_bytes(b"")
            made = [0]

            def fresh_topic() -> str:
                made[0] += 1
                name = f"lever-{made[0]}"
                topics.create_topic(bootstrap, name)
                return name

            def holds(topic: str) -> int:
                return topics.describe_topic(bootstrap, topic).partitions[0].end_offset

            def produced(cmd: Callable[[str], list[str]]) -> Callable[[int], Run]:
                def run(_round: int) -> Run:
                    topic = fresh_topic()
                    done = Run(cmd(topic), source, sink)
                    assert holds(topic) == n, f"{topic} holds {holds(topic)}, not {n}"
                    return done
                return run

            if args.only != "consume":
                settings_variants = args.setting or [
                    "linger.ms=0", "linger.ms=50", "batch.num.messages=100000", "compression.type=lz4",
                ]
                variants: dict[str, Callable[[int], Run]] = {
                    "kafkalab produce": produced(lambda t: [*KAFKALAB, "produce", t, "-b", bootstrap]),
                    "kcat -P": produced(lambda t: [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4",
                                                   "-P", "-t", t]),
                }
                for given in settings_variants:
                    xs = [x for kv in given.split(",") for x in ("-X", kv)]
                    variants[f"kafkalab -X {given}"] = produced(
                        lambda t, xs=xs: [*KAFKALAB, "produce", t, "-b", bootstrap, *xs])
                for mode in filter(None, args.loops.split(",")):
                    variants[f"loop {mode}"] = produced(
                        lambda t, mode=mode: [sys.executable, "-c", _PRODUCE, mode, t, bootstrap])
                results["produce"] = median_rows("produce", args.rounds, n, variants)

            if args.only != "produce":
                topic = "consume-source"
                topics.create_topic(bootstrap, topic)
                Run([KCAT, "-b", bootstrap, "-X", "broker.address.family=v4", "-P", "-t", topic], source, sink)
                assert holds(topic) == n

                def checked(cmd: list[str]) -> Callable[[int], Run]:
                    def run(_round: int) -> Run:
                        done = Run(cmd, empty, sink)
                        assert sink.stat().st_size == n * (args.size + 1), f"{cmd} wrote {sink.stat().st_size} B"
                        return done
                    return run

                kcat_c = [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4", "-C", "-t", topic,
                          "-o", "beginning", "-e", "-q"]
                cvariants = {
                    "kafkalab consume": checked([*KAFKALAB, "consume", topic, "--from-beginning", "-b", bootstrap]),
                    "kcat -C -e": checked(kcat_c),
                }
                for mode in ("consume-100", "consume-1000", "consume-10000", "poll"):
                    cvariants[f"loop {mode}"] = checked([sys.executable, "-c", _CONSUME, mode, topic, bootstrap,
                                                         str(n)])
                results["consume"] = median_rows("consume", args.rounds, n, cvariants)
    finally:
        print(f"Taking the lab {settings.project} down ...", flush=True)
        lab.down(volumes=True)

    print(f"\n{n:,} messages of {args.size} B, {args.rounds} rounds each, medians:")
    for label, rows in results.items():
        base = rows[f"kafkalab {label}"]
        kcat = rows["kcat -P" if label == "produce" else "kcat -C -e"]
        print(f"  {label:<38s} {'msgs/s':>10s} {'x kcat':>7s} {'x kafkalab':>10s} {'CPU s/10^6':>10s}")
        for name, (rate, cpu) in rows.items():
            print(f"  {name:<38s} {rate:>10,.0f} {rate / kcat[0]:>7.2f} {rate / base[0]:>10.2f} {cpu:>10.2f}")


if __name__ == "__main__":
    main()
