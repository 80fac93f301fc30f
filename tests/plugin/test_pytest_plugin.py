"""kafkalab's pytest plugin, run as a user runs it: inner pytest sessions in subprocesses (pytester),
which load the plugin through its pytest11 entry point, against the real test bed.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kafkalab import Lab
from kafkalab.errors import DaemonDown, DockerNotFound

pytest_plugins = ["pytester"]

# An inner session must end by itself well before this; reaching it means the plugin hung.
INNER_TIMEOUT = 150

# Two tests, each with a topic of its own: each reads back exactly the message it produced.
ROUNDTRIP_TESTS = '''
import json, os, time
from pathlib import Path

RECORD = Path(os.environ["KAFKALAB_PLUGIN_RECORD"])


def record(**values):
    with RECORD.open("a") as f:
        f.write(json.dumps(values) + "\\n")


def roundtrip(producer, consumer, topic, value):
    """Produce one message, then read the topic from its start until the message is back: all read."""
    producer.produce(topic, value)
    assert producer.flush(10) == 0
    consumer.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 30
    while value not in seen:
        assert time.monotonic() < deadline, f"{value!r} did not come back; read {seen}"
        msg = consumer.poll(1)
        if msg is not None and msg.error() is None:
            seen.append(msg.value())
    return seen


def test_first(kafka_lab, kafka_topic, kafka_producer, kafka_consumer):
    status = kafka_lab.status()
    record(test="first", topic=kafka_topic, project=kafka_lab.settings.project, state=status.state,
           services=[c.service for c in status.containers])
    assert roundtrip(kafka_producer, kafka_consumer, kafka_topic, b"first") == [b"first"]


def test_second(kafka_lab, kafka_topic, kafka_producer, kafka_consumer):
    record(test="second", topic=kafka_topic)
    assert roundtrip(kafka_producer, kafka_consumer, kafka_topic, b"second") == [b"second"]
'''

# The example of docs/python.md's "The pytest plugin", verbatim.
README_EXAMPLE = '''
import pytest


def test_order_events_round_trip(kafka_topic, kafka_producer, kafka_consumer):
    kafka_producer.produce(kafka_topic, key=b"order-42", value=b'{"status": "paid"}')
    kafka_producer.flush(10)

    kafka_consumer.subscribe([kafka_topic])
    msg = kafka_consumer.poll(10)

    assert msg is not None and msg.error() is None
    assert (msg.key(), msg.value()) == (b"order-42", b'{"status": "paid"}')


@pytest.mark.kafka_topic(partitions=3, config={"retention.ms": "60000"})
def test_three_partitions(kafka_lab, kafka_topic):
    metadata = kafka_lab.admin().list_topics(kafka_topic, timeout=10)
    assert len(metadata.topics[kafka_topic].partitions) == 3


@pytest.mark.parametrize("kafka_topic", [1, 4], indirect=True)
def test_any_partition_count(kafka_topic, kafka_producer):
    kafka_producer.produce(kafka_topic, b"hello")
    assert kafka_producer.flush(10) == 0
'''

# The two ways to choose a topic's partitions and config.
TOPIC_SPEC_TESTS = '''
import pytest


def describe(lab, topic):
    from confluent_kafka.admin import ConfigResource

    admin = lab.admin()
    partitions = len(admin.list_topics(topic, timeout=10).topics[topic].partitions)
    resource = ConfigResource("topic", topic)
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    return partitions, config["retention.ms"].value


@pytest.mark.kafka_topic(partitions=3, config={"retention.ms": "3600000"})
def test_marker(kafka_lab, kafka_topic):
    assert describe(kafka_lab, kafka_topic) == (3, "3600000")


@pytest.mark.parametrize("kafka_topic", [2, {"partitions": 4, "config": {"retention.ms": "60000"}}], indirect=True)
def test_indirect(kafka_lab, kafka_topic):
    assert describe(kafka_lab, kafka_topic) in [(2, "604800000"), (4, "60000")]


def test_default(kafka_lab, kafka_topic):
    assert describe(kafka_lab, kafka_topic)[0] == 1
'''

# A lab the session started works: a topic is made and a message delivered to it.
DELIVERS = '''
import json, os
from pathlib import Path


def test_delivers(kafka_lab, kafka_topic, kafka_producer):
    status = kafka_lab.status()
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"project": kafka_lab.settings.project, "state": status.state,
                            "services": [c.service for c in status.containers]}) + "\\n")
    errors = []
    kafka_producer.produce(kafka_topic, b"hello", on_delivery=lambda err, _msg: errors.append(err))
    assert kafka_producer.flush(10) == 0
    assert errors == [None]
'''

USES_THE_LAB = '''
def test_uses_the_lab(kafka_lab):
    pass
'''


def lab_env(settings: Any) -> dict[str, str]:
    """The KAFKALAB_* variables that point the plugin at the lab of `settings`."""
    return {
        "KAFKALAB_PROJECT": settings.project,
        "KAFKALAB_PORT": str(settings.port),
        "KAFKALAB_UI_PORT": str(settings.ui_port),
        "KAFKALAB_ZOOKEEPER_PORT": str(settings.zookeeper_port),
    }


def lab_options(settings: Any) -> list[str]:
    """The same, as the plugin's command-line options."""
    return [f"--kafkalab-project={settings.project}", f"--kafkalab-port={settings.port}",
            f"--kafkalab-ui-port={settings.ui_port}"]


def run_inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    monkeypatch.setenv("KAFKALAB_PLUGIN_RECORD", str(pytester.path / "record.jsonl"))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=INNER_TIMEOUT)


def records(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    path = pytester.path / "record.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def container_ids(project: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=True,
    )
    return sorted(out.stdout.split())


# --- without Docker ------------------------------------------------------------------------


def test_the_entry_point_registers_the_plugin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help", timeout=INNER_TIMEOUT)
    for option in ("--kafkalab-project", "--kafkalab-mode", "--kafkalab-port", "--kafkalab-ui-port",
                   "--kafkalab-keep", "--kafkalab-no-ui"):
        assert option in result.stdout.str()
    markers = pytester.runpytest_subprocess("--markers", timeout=INNER_TIMEOUT)
    markers.stdout.fnmatch_lines(["@pytest.mark.kafka_topic(partitions=1, config=None): *"])


# The plugin's xdist hooks are optional: it loads without xdist, and under it.
@pytest.mark.parametrize("xdist", [[], ["-p", "no:xdist"], ["-n", "2"]], ids=["plain", "no xdist", "xdist"])
def test_unused_it_loads_nothing_heavy_and_needs_no_docker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdist: list[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here
    pytester.makepyfile('''
        import sys

        def test_plain():
            assert "kafkalab.pytest_plugin" in sys.modules
            for heavy in ("confluent_kafka", "python_on_whales", "kafkalab.lab.lab", "kafkalab.kafka.clients"):
                assert heavy not in sys.modules
    ''')
    result = run_inner(pytester, monkeypatch, *xdist)
    result.assert_outcomes(passed=1)
    assert "kafkalab:" not in result.stdout.str()


@pytest.mark.parametrize(
    ("usage", "error"),
    [
        ("@pytest.mark.kafka_topic(partition=3)",
         "unknown argument 'partition'; the arguments are partitions and config."),
        ("@pytest.mark.kafka_topic(0)", "partitions must be a whole number above 0, not 0."),
        ("@pytest.mark.kafka_topic(1, 2)", "the marker takes partitions (the one positional argument) and config=."),
        ("@pytest.mark.parametrize('kafka_topic', ['three'], indirect=True)",
         "a parameter is the number of partitions or a dict, not 'three'."),
    ],
)
def test_a_wrong_topic_spec_fails_clearly(pytester: pytest.Pytester, usage: str, error: str) -> None:
    # A stand-in lab: the spec is checked before anything is asked of Kafka.
    pytester.makeconftest("""
        import pytest

        @pytest.fixture(scope="session")
        def kafka_lab():
            return None
    """)
    pytester.makepyfile(f"""
        import pytest

        {usage}
        def test_spec(kafka_topic):
            pass
    """)
    result = pytester.runpytest_subprocess(timeout=INNER_TIMEOUT)
    result.assert_outcomes(errors=1)
    nodeid = "test_a_wrong_topic_spec_fails_clearly.py::test_spec" + ("[three]" if "three" in usage else "")
    assert f"kafka_topic of {nodeid}: {error}" in result.outlines


@pytest.mark.parametrize("broken", ["no docker on PATH", "daemon down"])
def test_without_docker_the_lab_fails_clearly_and_quickly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: str,
) -> None:
    if broken == "no docker on PATH":
        monkeypatch.setenv("PATH", str(tmp_path))
        expected = ["Error: Docker was not found: there is no `docker` on PATH.", f"Hint: {DockerNotFound.hint}"]
    else:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
        expected = ["Error: The Docker daemon is not answering: *", f"Hint: {DaemonDown.hint}"]
    pytester.makepyfile(USES_THE_LAB + USES_THE_LAB.replace("test_uses_the_lab", "test_uses_it_again"))
    started = time.monotonic()
    result = run_inner(pytester, monkeypatch)
    assert time.monotonic() - started < 30
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_uses_the_lab*", *expected,
                                 "*ERROR at setup of test_uses_it_again*", *expected])
    assert "Traceback" not in result.stdout.str()


# --- on the test bed -----------------------------------------------------------------------


@pytest.mark.e2e
def test_attaches_to_a_running_lab(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, shared_lab: Lab, bed: ModuleType,
) -> None:
    project = shared_lab.settings.project
    before = container_ids(project)
    for name, value in lab_env(shared_lab.settings).items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_roundtrip=ROUNDTRIP_TESTS, test_topic_spec=TOPIC_SPEC_TESTS, test_readme=README_EXAMPLE)

    result = run_inner(pytester, monkeypatch)

    result.assert_outcomes(passed=10)
    bootstrap = shared_lab.bootstrap_servers
    result.stdout.fnmatch_lines([f"kafkalab: attached to the lab {project} at {bootstrap} in * s."])
    first, second = records(pytester)
    assert (first["project"], first["state"], first["services"]) == (project, "healthy", ["kafka"])
    assert first["topic"] != second["topic"]
    # The lab is left as it was: the same containers, still healthy, and no topic of the tests.
    assert container_ids(project) == before
    assert shared_lab.status().healthy
    ours = ("test_first", "test_second", "test_marker", "test_indirect", "test_default",
            "test_order_events_round_trip", "test_three_partitions", "test_any_partition_count")
    admin = shared_lab.admin()

    def left() -> list[str]:
        return [t for t in admin.list_topics(timeout=10).topics if t.startswith(ours)]

    # The deletion is accepted before every broker has forgotten the topic: poll a little.
    bed.wait_until(lambda: not left(), 10, "the topics of the inner session to be deleted")


@pytest.mark.e2e
@pytest.mark.parametrize("asked", ["mode", "port", "with"])
def test_refuses_a_running_lab_that_differs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, shared_lab: Lab, bed: ModuleType, asked: str,
) -> None:
    settings = shared_lab.settings
    for name, value in lab_env(settings).items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(USES_THE_LAB)
    if asked == "mode":
        result = run_inner(pytester, monkeypatch, "--kafkalab-mode=zookeeper")
        error = (f"Error: The lab {settings.project} runs in kraft mode, but zookeeper mode was asked for "
                 "(option --kafkalab-mode).")
        hint = f"Hint: Stop it with `kafkalab -p {settings.project} down`, or choose another project with*"
    elif asked == "port":
        other = bed.free_port()
        result = run_inner(pytester, monkeypatch, f"--kafkalab-port={other}")
        error = f"Error: The lab {settings.project} runs with its broker on port {settings.port}, not on port {other}."
        hint = f"Hint: *`kafkalab -p {settings.project} down`*--kafkalab-project*"
    else:  # attached as it runs, it would be waited for in vain (it was: 120 s, on the default port)
        result = run_inner(pytester, monkeypatch, "--kafkalab-with=schema-registry")
        error = (f"Error: The lab {settings.project} runs without Schema Registry, which option --kafkalab-with "
                 "asks for.")
        hint = f"Hint: Add it with `kafkalab -p {settings.project} up --with schema-registry`, or choose another*"
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([error, hint])
    assert shared_lab.status().healthy


@pytest.mark.e2e
def test_starts_a_lab_when_none_runs_and_stops_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: ModuleType,
) -> None:
    assert bed.docker_leftovers(new_lab.project) == []
    for name, value in lab_env(new_lab).items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(DELIVERS)

    result = run_inner(pytester, monkeypatch, "--kafkalab-no-ui")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"kafkalab: started the lab {new_lab.project} at localhost:{new_lab.port} in * s, and stopped it."]
    )
    assert records(pytester) == [{"project": new_lab.project, "state": "healthy", "services": ["kafka"]}]
    # Stopped and removed, data too: it was the session's own lab.
    assert bed.docker_leftovers(new_lab.project) == []


@pytest.mark.e2e
def test_a_lab_that_is_not_ready_in_time_fails_clearly_and_is_removed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: ModuleType,
) -> None:
    for name, value in {**lab_env(new_lab), "KAFKALAB_TIMEOUT": "0.1"}.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(USES_THE_LAB)

    result = run_inner(pytester, monkeypatch, "--kafkalab-no-ui")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        f"Error: The broker at localhost:{new_lab.port} was not ready within 0.1 s.",
        "Hint: *raise KAFKALAB_TIMEOUT*",  # the plugin has no --timeout: the setting's variable
    ])
    assert bed.docker_leftovers(new_lab.project) == []


@pytest.mark.e2e
def test_hints_name_the_plugins_options(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: ModuleType,
) -> None:
    import socket

    for name, value in lab_env(new_lab).items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(USES_THE_LAB)
    with socket.socket() as holder:  # another program on the broker's port
        holder.bind(("127.0.0.1", new_lab.port))
        holder.listen()
        result = run_inner(pytester, monkeypatch)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        f"Error: Port {new_lab.port} (kafka) on 127.0.0.1 is already taken by another program.",
        "Hint: Stop it, or choose another port with --kafkalab-port.",
    ])
    result.stdout.no_fnmatch_line("Hint: *choose another port with --port*")
    assert bed.docker_leftovers(new_lab.project) == []


@pytest.mark.e2e
def test_keep_leaves_the_started_lab_running(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any,
) -> None:
    pytester.makepyfile(USES_THE_LAB)

    kept = run_inner(pytester, monkeypatch, *lab_options(new_lab), "--kafkalab-keep", "--kafkalab-no-ui")

    kept.assert_outcomes(passed=1)
    kept.stdout.fnmatch_lines([
        f"kafkalab: started the lab {new_lab.project} at localhost:{new_lab.port} in * s; left it running "
        f"(`kafkalab -p {new_lab.project} down` stops it)."
    ])
    assert Lab(new_lab).status().healthy
    # The next session attaches to it.
    again = run_inner(pytester, monkeypatch, *lab_options(new_lab))
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines([f"kafkalab: attached to the lab {new_lab.project} at *"])
    assert Lab(new_lab).status().healthy


# --- under pytest-xdist ---------------------------------------------------------------------

# Six round trips, spread over the workers. Each records its worker and the broker container it
# reached; at the end of each worker's session (after its kafka_lab teardown), the conftest records
# which of the lab's containers still run.
XDIST_TESTS = '''
import json, os, time
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(6))
def test_roundtrip(kafka_lab, kafka_topic, kafka_producer, kafka_consumer, n):
    value = f"message {n}".encode()
    kafka_producer.produce(kafka_topic, value)
    assert kafka_producer.flush(10) == 0
    kafka_consumer.subscribe([kafka_topic])
    deadline = time.monotonic() + 30
    msg = None
    while msg is None or msg.error() is not None:
        assert time.monotonic() < deadline, f"{value!r} did not come back"
        msg = kafka_consumer.poll(1)
    assert msg.value() == value
    kafka = [c.id for c in kafka_lab.compose.containers() if c.service == "kafka"]
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"test": n, "worker": os.environ["PYTEST_XDIST_WORKER"], "kafka": kafka}) + "\\n")
'''

XDIST_CONFTEST = '''
import json, os, subprocess
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)  # after the session's fixtures were torn down, kafka_lab's included
def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        return
    label = "label=dev.kafkalab.lab=" + os.environ["KAFKALAB_PROJECT"]
    running = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", label],
                             capture_output=True, text=True, check=True).stdout.split()
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"worker_end": session.config.workerinput["workerid"], "running": running}) + "\\n")
'''


def lab_containers(project: str) -> list[str]:
    """The ids of the lab's containers, running or not, by kafkalab's own label."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=dev.kafkalab.lab={project}"],
        capture_output=True, text=True, check=True,
    )
    return sorted(out.stdout.split())


@pytest.mark.e2e
def test_xdist_workers_share_one_lab_stopped_once_at_the_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: ModuleType,
) -> None:
    assert bed.docker_leftovers(new_lab.project) == []
    for name, value in lab_env(new_lab).items():
        monkeypatch.setenv(name, value)
    pytester.makeconftest(XDIST_CONFTEST)
    pytester.makepyfile(XDIST_TESTS)

    begun = time.monotonic()
    result = run_inner(pytester, monkeypatch, "-n", "3", "--kafkalab-no-ui")
    print(f"the -n 3 inner run took {time.monotonic() - begun:.1f} s")

    result.assert_outcomes(passed=6)
    seen = [r for r in records(pytester) if "test" in r]
    ends = [r for r in records(pytester) if "worker_end" in r]
    assert sorted(r["test"] for r in seen) == list(range(6))
    assert {r["worker"] for r in seen} == {"gw0", "gw1", "gw2"}
    # One lab: every test, whatever its worker, reached the same one broker container...
    kafka = {tuple(r["kafka"]) for r in seen}
    assert len(kafka) == 1 and len(next(iter(kafka))) == 1
    # ...which was still running when each worker's session ended, the starter's included.
    assert sorted(r["worker_end"] for r in ends) == ["gw0", "gw1", "gw2"]
    assert all(r["running"] == list(next(iter(kafka))) for r in ends), ends
    out = result.stdout.str()
    assert out.count("kafkalab:") == 1
    result.stdout.fnmatch_lines([
        f"kafkalab: a worker started the lab {new_lab.project} at localhost:{new_lab.port} in * s; "
        "stopped it at the end of the run."
    ])
    # Stopped by the controller, once, after the last worker: nothing is left, data included.
    assert bed.docker_leftovers(new_lab.project) == []


@pytest.mark.e2e
def test_xdist_keep_leaves_the_lab_running(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any,
) -> None:
    pytester.makepyfile(DELIVERS.replace("def test_delivers", "@__import__('pytest').mark.parametrize('n', range(3))\n"
                                         "def test_delivers").replace("kafka_producer):", "kafka_producer, n):"))

    result = run_inner(pytester, monkeypatch, "-n", "3", *lab_options(new_lab), "--kafkalab-keep", "--kafkalab-no-ui")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        f"kafkalab: a worker started the lab {new_lab.project} at localhost:{new_lab.port} in * s; left it running "
        f"(`kafkalab -p {new_lab.project} down` stops it)."
    ])
    assert len({r["project"] for r in records(pytester)}) == 1
    assert Lab(new_lab).status().healthy  # new_lab takes it down
    assert len(lab_containers(new_lab.project)) == 1


# --- the fixtures only ever touch the lab ---------------------------------------------------

# What the fixtures' clients reach: the advertised port of the broker that answered them.
REACHES = '''
import json, os
from pathlib import Path


def test_reaches(kafka_lab, kafka_topic, kafka_producer, kafka_consumer):
    errors = []
    kafka_producer.produce(kafka_topic, b"hello", on_delivery=lambda err, _msg: errors.append(err))
    assert kafka_producer.flush(10) == 0
    assert errors == [None]
    ports = {}
    for name, client in (("producer", kafka_producer), ("consumer", kafka_consumer)):
        metadata = client.list_topics(kafka_topic, timeout=10)
        assert metadata.topics[kafka_topic].error is None
        ports[name] = sorted(b.port for b in metadata.brokers.values())
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"topic": kafka_topic, "bootstrap": kafka_lab.bootstrap_servers, **ports}) + "\\n")
'''


@pytest.mark.e2e
def test_the_fixtures_ignore_kafkalab_bootstrap_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, shared_lab: Lab, lab_factory: Any,
    bed: ModuleType,
) -> None:
    other = lab_factory()
    other.up(ui=False)
    admin = other.admin()
    before = set(admin.list_topics(timeout=10).topics)
    for name, value in {**lab_env(shared_lab.settings), "KAFKALAB_BOOTSTRAP_SERVER": other.bootstrap_servers}.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(REACHES)

    result = run_inner(pytester, monkeypatch)

    result.assert_outcomes(passed=1)
    bootstrap = f"localhost:{shared_lab.settings.port}"
    result.stdout.fnmatch_lines([f"kafkalab: attached to the lab {shared_lab.settings.project} at {bootstrap} in * s."])
    [seen] = records(pytester)
    port = shared_lab.settings.port
    assert (seen["bootstrap"], seen["producer"], seen["consumer"]) == (bootstrap, [port], [port])
    # The other cluster saw nothing: no topic of the test, and no consumer offsets topic either.
    assert set(admin.list_topics(timeout=10).topics) == before
    assert seen["topic"] not in set(shared_lab.admin().list_topics(timeout=10).topics) or bed.wait_until(
        lambda: seen["topic"] not in set(shared_lab.admin().list_topics(timeout=10).topics), 10,
        "the test's topic to be deleted from the session's lab",
    )
