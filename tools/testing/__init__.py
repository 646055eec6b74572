"""The test harness: what the tests run the platform against, beyond the offline plan.

- ``e2e/``: real n8n, PostgreSQL, Redis, PgBouncer, nginx, Prometheus and an S3 API on 127.0.0.1, and the faults,
  upgrades and DR drills the tests/e2e tests put them through (``make n8n``, ``make e2e``, ``make dashboard``).
- ``engine/``: the real Pulumi engine and a Kubernetes control plane built from Go modules (``go/``), for
  tests/engine (``make engine``, ``make engine-test``).
- ``edge_reach``: where a request path goes through a rendered edge, read as its controller reads it.
- ``bench``: queue mode against single-process n8n on the e2e servers (``make bench``).
- ``mutate`` and ``mutation.toml``: mutation testing of the pure builders, judging the tests (``make mutate``).
"""
