"""Compare History requests: a subject is an engineer_code this platform issued or a valid
engineer name; anything else is 422 naming the field, never repeating the value."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from devstack.testing import internal_headers
from shared.domain import MESSAGES
from shared.pseudonyms import is_engineer_code
from tests.integration.trends.conftest import NOW, change
from trends_svc import projection

NOT_A_CODE = "Not an engineer_code this platform issued."
CODE = "eng_" + "a" * 24


def admin():
    return internal_headers("admin")


@pytest.mark.parametrize(
    ("segment", "value"),
    [
        ("Anna%20M%C3%BCller", "Anna Müller"),
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("eng_a", "eng_a"),
        ("eng_" + "A" * 24, "eng_" + "A" * 24),
    ],
)
def test_history_by_code_rejects_what_is_not_a_code_without_echoing_it(trends_app, segment, value):
    response = trends_app.test_client().get(f"/api/v1/history/{segment}", headers=admin())
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "engineer_code", "reason": NOT_A_CODE}]
    assert value not in response.get_data(as_text=True)
    assert segment not in response.get_data(as_text=True)


def test_history_by_a_code_answers(trends_app):
    response = trends_app.test_client().get(f"/api/v1/history/{CODE}", headers=admin())
    assert response.status_code == 200
    assert response.json["engineer_code"] == CODE


@pytest.mark.parametrize(
    ("body", "field", "reason", "value"),
    [
        ({"engineer_code": "Anna Müller"}, "engineer_code", NOT_A_CODE, "Anna Müller"),
        ({"engineer_code": "eng_a"}, "engineer_code", NOT_A_CODE, "eng_a"),
        (
            {"engineer": "jane.doe@example.com"},
            "engineer",
            MESSAGES["invalid_engineer_name"],
            "jane.doe",
        ),
        ({"engineer": "Anna Müller 2"}, "engineer", MESSAGES["invalid_engineer_name"], "Anna"),
        ({"engineer": "   "}, "engineer", MESSAGES["invalid_engineer_name"], None),
    ],
)
def test_compare_rejects_a_bad_subject_without_echoing_it(trends_app, body, field, reason, value):
    response = trends_app.test_client().post("/api/v1/history/compare", json=body, headers=admin())
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": field, "reason": reason}]
    if value is not None:
        assert value not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [{"engineer": "Anna Müller"}, {"engineer_code": CODE}])
def test_compare_answers_for_a_name_or_a_code(trends_app, body):
    response = trends_app.test_client().post("/api/v1/history/compare", json=body, headers=admin())
    assert response.status_code == 200
    assert is_engineer_code(response.json["engineer_code"])
    assert "Anna" not in response.get_data(as_text=True)


def test_a_past_period_is_compared_up_to_its_end(trends_app, conn):
    """`until` ends the current period in the past (the dashboard's previous quarter): the
    sessions of 30 days up to it count, not those of the last 30 days."""
    engineer = "eng_" + "q" * 24
    page = [change(engineer=engineer, days_ago=100) for _ in range(3)]
    page += [change(engineer=engineer, days_ago=5) for _ in range(2)]
    with conn.transaction():
        projection.apply_page(conn, page)
    until = (NOW - timedelta(days=90)).isoformat()
    client = trends_app.test_client()
    past = client.get(
        f"/api/v1/history/{engineer}?period_days=30&until={quote(until)}", headers=admin()
    )
    assert past.status_code == 200, past.json
    assert past.json["current"]["sessions"] == 3
    assert past.json["current"]["to"] == (NOW - timedelta(days=90)).isoformat()
    latest = client.get(
        f"/api/v1/history/{engineer}?period_days=30&until={quote(NOW.isoformat())}",
        headers=admin(),
    )
    assert latest.json["current"]["sessions"] == 2  # the two of 5 days before NOW
    compared = client.post(
        "/api/v1/history/compare",
        json={"engineer_code": engineer, "period_days": 30, "until": until},
        headers=admin(),
    )
    assert compared.json["current"]["sessions"] == 3


def test_a_period_ending_in_the_future_is_a_422_naming_until(trends_app):
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = trends_app.test_client().post(
        "/api/v1/history/compare",
        json={"engineer_code": CODE, "until": ahead},
        headers=admin(),
    )
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "until", "reason": "Must not be in the future."}]
