"""Test-run wiring: the project's pytest plugin provides PostgreSQL and per-test databases."""

pytest_plugins = ["shared.testing", "tests.common.browser", "tests.common.platform"]
