"""Schemas: the Schema Registry client (registry.py: a SchemaRegistryClient for a registry's URL, and its
errors as kafkalab's, in one place) and the Avro, JSON Schema and Protobuf records of produce and consume
(serdes.py: confluent-kafka's own serializers and deserializers, none of the wire format by hand).

May import: kafkalab.errors, kafkalab.kafka.contexts (RegistryTarget), kafkalab.kafka.records;
confluent_kafka.schema_registry (and fastavro, jsonschema, google.protobuf, grpc_tools) lazily,
inside functions: `kafkalab --help` must not load them. Nothing in kafkalab.kafka imports this package.
"""
