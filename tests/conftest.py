"""Test-run wiring: the project's pytest plugin provides PostgreSQL and per-test databases."""

pytest_plugins = ["devstack.testing", "tests.common.browser", "tests.common.platform"]
