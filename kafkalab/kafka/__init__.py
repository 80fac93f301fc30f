"""Talking to Kafka: the only package that imports confluent_kafka (inside functions, so that
`kafkalab --help` stays quick). It knows nothing of Docker or of the lab's containers.
"""
