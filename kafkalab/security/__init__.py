"""A secured lab: the security modes of the brokers' EXTERNAL listener, the lab's users, its CA and
certificates (with the `cryptography` package), kept with the lab's state, and what kafkalab's own
clients and `kafkalab connect` take from them. It knows nothing of Docker or of confluent_kafka.
"""
