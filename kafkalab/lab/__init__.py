"""The lab: `Lab` and what it is made of (the table of modes, the state kept on disk, status,
readiness, the connection an application needs, doctor). It uses kafkalab.kafka and kafkalab.docker.
"""
