"""A refused login or TLS handshake as an error of its own (SecurityCheck, the commands' clients'
error callback), where librdkafka would retry until a request timed out.

May import: kafkalab.errors, kafkalab.kafka.requests (sentence); confluent_kafka inside functions only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kafkalab.errors import AuthenticationFailed, TlsFailed
from kafkalab.kafka.requests import sentence


class SecurityCheck:
    """The commands' clients' error_cb: a refused login or TLS handshake is an error of its own.

    librdkafka reports these (and passing trouble, such as a broker restarting) through the error
    callback, which runs inside poll(), consume() and flush(); an exception raised here comes out
    of that call. Anything else librdkafka retries by itself, and is left to the request timeouts.
    """

    def __init__(self, bootstrap: str, conf: Mapping[str, Any]) -> None:
        self.bootstrap = bootstrap
        self.mechanism = str(conf.get("sasl.mechanism", conf.get("sasl.mechanisms", "GSSAPI"))).upper()
        self.protocol = str(conf.get("security.protocol", "plaintext")).upper()
        self.ca = str(conf.get("ssl.ca.location", ""))

    def __call__(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        text = error.str()
        if error.code() == KafkaError._AUTHENTICATION:
            raise self.authentication_failed(text)
        if error.code() == KafkaError._SSL or "SSL handshake failed" in text:
            raise self.tls_failed(text)

    @staticmethod
    def _detail(text: str) -> str:
        """librdkafka's words without the broker's name before them and the "(after 301ms in state ...)" after."""
        head, sep, rest = text.partition("/bootstrap: ")
        if not sep:
            head, sep, rest = text.partition(": ")
            rest = rest if sep and "://" in head else text
        return re.sub(r"\s*\(after \d+ms in state [A-Z_]+\)$", "", rest).strip()

    def authentication_failed(self, text: str) -> AuthenticationFailed:
        detail = self._detail(text)
        where = f"SASL authentication ({self.mechanism}) failed at {self.bootstrap}"
        supported = re.search(r"broker's supported mechanisms: ?([A-Z0-9_,-]*)", detail)
        if supported and supported.group(1):
            enabled = supported.group(1).replace(",", ", ")
            return AuthenticationFailed(
                f"{where}: the broker does not enable {self.mechanism}; it enables {enabled}.",
                f"Set sasl.mechanism to one of those, such as -X sasl.mechanism={supported.group(1).split(',')[0]}.",
            )
        if supported:  # a listener without SASL: it answers the SASL handshake as a request out of place
            return AuthenticationFailed(
                f"{where}: this listener does not take SASL (it refused the SASL handshake).",
                "Check security.protocol and the port: this one speaks PLAINTEXT or SSL, without SASL.",
            )
        return AuthenticationFailed(
            f"{where}: {sentence(detail.removeprefix('SASL authentication error: '))}",
            "Check sasl.username and sasl.password (-X, or the context's client table; "
            "`kafkalab config` lists the contexts).",
        )

    def tls_failed(self, text: str) -> TlsFailed:
        detail = self._detail(text)
        if "PLAINTEXT broker listener" in detail:
            return TlsFailed(
                f"TLS handshake failed at {self.bootstrap}: the broker closed the connection, as a PLAINTEXT "
                f"listener does when spoken TLS to (security.protocol={self.protocol}).",
                "Use the cluster's TLS port, or drop TLS there: -X security.protocol=PLAINTEXT (or SASL_PLAINTEXT).",
            )
        trusted = f" (ssl.ca.location {self.ca})" if self.ca else ""
        return TlsFailed(
            f"TLS handshake failed at {self.bootstrap}{trusted}: {sentence(detail)}",
            f"Check that {self.ca} is the lab's CA (`kafkalab connect` names it) and the host name in the address."
            if self.ca else
            "Check ssl.ca.location (the CA that signed the broker's certificate) and the host name in the address.",
        )
