"""The audit trail on real processes holds no name: a name typed into a URL where an id belongs is
recorded redacted, and Compare History by name is audited as a look-up, without the name."""

import pytest

NAME, NAME_IN_URL = "Anna Müller", "Anna%20M%C3%BCller"


def recorded_for(admin, response, action: str) -> list[tuple]:
    """The audit events of one answered request (found by its request id)."""
    page = admin.request("GET", "/api/v1/audit", params={"action": action}).json()
    request_id = response.headers["X-Request-ID"]
    return [
        (event["object"], event["outcome"], event["status"])
        for event in page["items"]
        if event["request_id"] == request_id
    ]


@pytest.mark.parametrize(
    ("role", "method", "path", "action", "outcome", "status"),
    [
        ("admin", "DELETE", "/api/v1/engineers/{}", "engineers.erase", "failure", 422),
        ("manager", "DELETE", "/api/v1/engineers/{}", "access.denied", "denied", 403),
        ("manager", "GET", "/api/v1/sessions/{}", "access.denied", "denied", 404),
        ("manager", "POST", "/api/v1/alerts/{}/ack", "alerts.decide", "failure", 404),
    ],
)
def test_a_name_in_a_url_is_recorded_redacted(
    make_caller, admin, role, method, path, action, outcome, status
):
    caller = admin if role == "admin" else make_caller(role, teams=("audit-team",))
    response = caller.request(
        method, path.format(NAME_IN_URL), json={} if method == "POST" else None
    )
    assert response.status_code == status, response.text
    recorded = recorded_for(admin, response, action)
    assert recorded == [(f"{method} {path.format('{redacted}')}", outcome, status)]


def test_compare_by_name_is_audited_as_a_look_up_without_the_name(agent, admin):
    by_name = agent.request("POST", "/api/v1/history/compare", json={"engineer": NAME})
    assert by_name.status_code in (200, 404), by_name.text
    recorded = recorded_for(admin, by_name, "engineers.lookup")
    assert recorded == [
        (
            "POST /api/v1/history/compare",
            "success" if by_name.ok else "failure",
            by_name.status_code,
        )
    ]
    everything = admin.request("GET", "/api/v1/audit", params={"limit": 200}).text
    assert NAME not in everything and "Müller" not in everything
