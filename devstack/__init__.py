"""Development tooling: the local stack runner, process supervisor, embedded PostgreSQL, demo data
and test helpers. Never imported by a service at run time (the production image has no `dev` extra)."""
