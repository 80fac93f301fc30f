"""The lab as code: topics, their seed records and schemas declared in the config file ([topics.NAME],
[schemas."SUBJECT"]), compared with a cluster as a plan of typed steps, carried out by `up`, `kafkalab
apply` and the pytest plugin, and read back from a cluster by `kafkalab export`.

    base.py         what every kind of declared object shares: Where (file, table, line), Step, Kind, Cluster
    locate.py       the line of a table or key in the TOML text (tomllib gives none)
    topics.py       [topics.NAME]: its parsing, plan steps and export
    schemas.py      [schemas."SUBJECT"]: the same for schemas
    plan.py         KINDS, the Declaration (load), the Plan (make_plan), carrying it out, export
"""
