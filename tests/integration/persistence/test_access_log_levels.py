"""The access log shows the requests people and agents make: the trends worker's change-feed poll
(once a second under `make run`) is logged at debug, every other request at info."""

import logging

import pytest


@pytest.fixture
def access_records(caplog):
    caplog.set_level(logging.DEBUG, logger="cr.access")

    def records(route):
        return [r.levelno for r in caplog.records if r.name == "cr.access" and r.route == route]

    return records


def test_the_change_feed_poll_logs_at_debug(api, access_records):
    assert api.call("GET", "/api/v1/internal/changes?after=", "changes_reader").status_code == 200
    assert access_records("/api/v1/internal/changes") == [logging.DEBUG]


def test_requests_of_people_and_agents_log_at_info(api, access_records):
    assert api.as_admin("GET", "/api/v1/sessions").status_code == 200
    assert api.as_agent("POST", "/api/v1/engineers/lookup", json={}).status_code == 422
    assert access_records("/api/v1/sessions") == [logging.INFO]
    assert access_records("/api/v1/engineers/lookup") == [logging.INFO]
