"""What every Kafka request of a command shares: its timeout, metadata in short attempts
(list_metadata, topic_metadata), waiting for an admin future (request_result), and librdkafka's
errors as kafkalab's typed ones (request_failed, sentence).

May import: kafkalab.errors, kafkalab.kafka.bootstrap; confluent_kafka inside functions only.
"""

from __future__ import annotations

import time
from typing import Any

from kafkalab.errors import GroupNotFound, KafkalabError, KafkaRequestError, TopicNotFound
from kafkalab.kafka.bootstrap import unreachable

REQUEST_TIMEOUT = 5.0
"""Seconds a command waits for the cluster to answer one request before BrokerUnreachable."""

_UNREACHABLE = ("_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_WAIT_COORD")

ATTEMPT = 0.5
"""Seconds of one metadata request of a command: between two, the client's error callback runs."""


def list_metadata(client: Any, bootstrap: str, timeout: float, topic: str | None = None) -> Any:
    """list_topics() of any client, in attempts of at most ATTEMPT s until `timeout`.

    Between two attempts the client's callbacks are served: the error callback of command_client()
    raises AuthenticationFailed or TlsFailed then, within a second, where librdkafka would retry
    the login until the timeout. BrokerUnreachable when the request fails at once (no broker
    would talk) or by the deadline. A consumer must not be reading yet: poll() would take a message.
    """
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        started = time.monotonic()
        wait = max(min(ATTEMPT, deadline - started), 0.05)
        try:
            return client.list_topics(topic=topic, timeout=wait)
        except KafkaException as exc:
            client.poll(0)
            at_once = time.monotonic() - started < wait * 0.8
            if at_once or time.monotonic() >= deadline:
                raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None


def request_failed(error: Any, bootstrap: str, what: str) -> KafkalabError:
    """The typed error for a librdkafka KafkaError: unreachable, missing topic or group, or refused."""
    from confluent_kafka import KafkaError

    code = error.code()
    if code in {getattr(KafkaError, name) for name in _UNREACHABLE}:
        return unreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.")
    if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.UNKNOWN_TOPIC_ID):
        return TopicNotFound(f"{what}: the topic does not exist at {bootstrap}.")
    if code == KafkaError.GROUP_ID_NOT_FOUND:
        return GroupNotFound(f"{what}: the consumer group does not exist at {bootstrap}.")
    return KafkaRequestError(f"{what}: {sentence(error.str())}")


def sentence(text: str) -> str:
    """librdkafka's error strings end with a period or not: end them with one."""
    return text if text.endswith(".") else text + "."


def request_result(future: Any, bootstrap: str, what: str, timeout: float) -> Any:
    """An admin request's future's result; its error as request_failed() types it, BrokerUnreachable
    when no answer came within `timeout`."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaException

    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise request_failed(exc.args[0], bootstrap, what) from None
    except FutureTimeout:
        raise unreachable(f"{what}: no answer from {bootstrap} within {timeout:g} s.") from None


def topic_metadata(client: Any, bootstrap: str, topic: str, timeout: float = REQUEST_TIMEOUT) -> Any:
    """One topic's metadata through any client; TopicNotFound or BrokerUnreachable instead of errors.

    The client must have allow.auto.create.topics=false, or asking would create the topic.
    """
    from confluent_kafka import KafkaError

    deadline = time.monotonic() + timeout
    while True:
        md = list_metadata(client, bootstrap, max(deadline - time.monotonic(), 0.05), topic)
        found = md.topics.get(topic)
        error = found.error if found is not None else None
        if found is not None and error is None:
            return found
        # A topic that was just created has no leader for a moment: ask again until the deadline.
        retry = error is not None and error.code() == KafkaError.LEADER_NOT_AVAILABLE
        if not retry or time.monotonic() >= deadline:
            if error is not None and not retry and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise request_failed(error, bootstrap, f"Topic {topic}")
            raise TopicNotFound(f"Topic {topic} does not exist at {bootstrap}.")
        time.sleep(0.05)
