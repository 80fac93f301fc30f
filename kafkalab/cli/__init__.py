"""The `kafkalab` command: thin. Each command parses its options, calls the library (kafkalab.lab,
kafkalab.kafka) and hands the result to render, which owns the one Rich Console.
"""
