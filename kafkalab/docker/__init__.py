"""Talking to Docker: the only package that runs `docker` or imports python_on_whales. It
turns Docker's failures into kafkalab's typed errors, once.
"""
