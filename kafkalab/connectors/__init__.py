"""Kafka Connect: the lab's worker (its config, which kafkalab writes and mounts: worker.py) and the REST
API of any Connect cluster, with its errors as kafkalab's (client.py), for `kafkalab connector`."""
