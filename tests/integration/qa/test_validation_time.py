"""Validation events dated in the future beyond a small clock skew are refused (issue #24)."""

import uuid
from datetime import UTC, datetime, timedelta

from devstack.testing import internal_headers
from qa_svc.app import create_app


def test_an_event_far_in_the_future_is_refused_naming_the_field(app_config):
    app = create_app(app_config)
    try:
        client = app.test_client()
        session = str(uuid.uuid4())

        def report(*times):
            events = [
                {"session_id": session, "field": "model", "outcome": "error", "time": time}
                for time in times
            ]
            return client.post(
                "/api/v1/validation/events",
                json={"events": events},
                headers=internal_headers("agent"),
            )

        soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
        late = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
        refused = report(soon, "4624-03-01T00:00:00+00:00", late)
        assert refused.status_code == 422
        assert sorted(error["field"] for error in refused.json["errors"]) == [
            "events.1.time",
            "events.2.time",
        ]
        assert "4624" not in refused.get_data(as_text=True)
        assert report(soon).status_code == 201
        log = client.get(
            f"/api/v1/validation/sessions/{session}", headers=internal_headers("qa_lead")
        ).json
        assert len(log["events"]) == 1  # nothing of the refused batch was written
    finally:
        app.extensions["db_pool"].close()
