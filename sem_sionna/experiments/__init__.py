"""sem_sionna.experiments: one module per study (the top floor; imports anything).

Each module has a typed, frozen ``Config`` (fields documented with their units), the
seed claims it tests as data (``CLAIMS``) and ``run(config, args)`` built from small
named steps (data, build, train, sweep, claims, report). The scripts in ``scenarios/``
only hold the ``PROFILES`` table of configs and call ``run``. Import a study by name,
e.g. ``from sem_sionna.experiments import split_vs_ldpc``.
"""
