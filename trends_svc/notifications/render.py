"""Messages as each kind of channel wants them: e-mail (subject, text and HTML parts), Slack Block
Kit, a Teams Adaptive Card (workflow webhook), or the generic webhook's JSON. They name engineers
by pseudonym only and carry no case numbers or free text: rule, scope, team, category, severity,
status, the evidence's numbers and a dashboard link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

RULE_TITLES = {
    "recurring_issue": "Recurring issue",
    "performance_decline": "Performance decline",
    "positive_trend": "Positive trend",
    "team_frequent_issue": "Frequent team issue",
}
EVENT_TITLES = {
    "alert.opened": "New",
    "alert.repeat": "Still open",
    "alert.resolved": "Resolved",
}
MAX_LISTED = 20  # chat cards stay small (Slack allows 50 blocks); the rest is "and N more"
MAX_LISTED_EMAIL = 200

_html = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
ALERTS_HTML = _html.from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ title }}</h2>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Event</th><th align="left">Alert</th><th align="left">Subject</th>
<th align="left">Team</th><th align="left">Category</th><th align="left">Evidence</th></tr>
{% for line in lines %}
<tr><td>{{ line.event }}</td><td>{{ line.rule }} ({{ line.severity }})</td>
<td>{{ line.subject }}</td><td>{{ line.team }}</td><td>{{ line.category }}</td>
<td>{{ line.evidence }}</td></tr>
{% endfor %}
</table>
{% if more %}<p>… and {{ more }} more.</p>{% endif %}
<p><a href="{{ link }}">Open the alerts in the dashboard</a></p>
</body></html>
"""
)
DIGEST_HTML = _html.from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ title }}</h2>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Team</th><th align="left">Sessions</th><th align="left">Mean sentiment</th>
<th align="left">Mean confidence</th><th align="left">Top root cause</th></tr>
{% for team in teams %}
<tr><td>{{ team.team }}</td><td>{{ team.sessions }}</td><td>{{ team.sentiment }}</td>
<td>{{ team.confidence }}</td><td>{{ team.top_cause }}</td></tr>
{% endfor %}
</table>
<h3>New alerts ({{ new_count }})</h3>
<ul>{% for line in new %}<li>{{ line }}</li>{% endfor %}</ul>
<h3>Still open ({{ open_count }})</h3>
<ul>{% for line in still_open %}<li>{{ line }}</li>{% endfor %}</ul>
<p><a href="{{ link }}">Open the dashboard</a></p>
</body></html>
"""
)
PLAIN_HTML = _html.from_string(
    '<!doctype html><html><body style="font-family: sans-serif"><h2>{{ title }}</h2>'
    "{% for line in lines %}<p>{{ line }}</p>{% endfor %}</body></html>"
)


@dataclass(frozen=True)
class Notice:
    """One alert in a message, with what happened to it."""

    event: str
    alert: dict[str, Any]


@dataclass(frozen=True)
class Content:
    """What a message says, before a channel kind gives it its form."""

    title: str
    lines: list[str]  # one per alert (or fact), plain text
    rows: list[dict[str, str]]  # the same as table cells (e-mail)
    more: int
    link: str
    payload: dict[str, Any]  # the generic webhook's JSON


def evidence_text(evidence: dict[str, Any]) -> str:
    """The evidence's numbers, `sessions=3, window_days=90` (no times, no lists)."""
    return ", ".join(
        f"{key}={value}"
        for key, value in evidence.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )


def alert_row(notice: Notice) -> dict[str, str]:
    alert = notice.alert
    return {
        "event": EVENT_TITLES[notice.event],
        "rule": RULE_TITLES.get(alert["rule"], alert["rule"]),
        "severity": alert["severity"],
        "subject": alert["engineer_code"] or f"team {alert['team']}",
        "team": alert["team"] or "",
        "category": alert["category"] or "",
        "evidence": evidence_text(alert["evidence"]),
    }


def line_of(row: dict[str, str]) -> str:
    category = f" · {row['category']}" if row["category"] else ""
    return (
        f"{row['event']}: {row['rule']} ({row['severity']}) · {row['subject']} · "
        f"team {row['team']}{category} · {row['evidence']}"
    )


def alerts_content(notices: Sequence[Notice], dashboard_base: str) -> Content:
    """The content of one grouped message about `notices`."""
    counts = {event: 0 for event in EVENT_TITLES}
    for notice in notices:
        counts[notice.event] += 1
    parts = [f"{n} {EVENT_TITLES[e].lower()}" for e, n in counts.items() if n]
    title = f"CR Assistant: {len(notices)} alert{'s' if len(notices) != 1 else ''} (" + (
        ", ".join(parts) + ")"
    )
    rows = [alert_row(notice) for notice in notices]
    link = f"{dashboard_base}/dashboard/alerts"
    payload = {
        "event": "alerts",
        "alerts": [
            {
                "event": notice.event,
                "id": str(notice.alert["alert_id"]),
                "rule": notice.alert["rule"],
                "scope": notice.alert["scope"],
                "engineer_code": notice.alert["engineer_code"],
                "team": notice.alert["team"],
                "category": notice.alert["category"] or None,
                "status": notice.alert["status"],
                "severity": notice.alert["severity"],
                "evidence": notice.alert["evidence"],
            }
            for notice in notices
        ],
        "dashboard_url": link,
    }
    return Content(title, [line_of(r) for r in rows], rows, 0, link, payload)


def simple_content(title: str, lines: list[str], link: str, event: str) -> Content:
    """A message of a few lines (the channel test, the confirmation of a self-service route)."""
    payload = {"event": event, "title": title, "lines": lines, "dashboard_url": link}
    return Content(title, lines, [], 0, link, payload)


def render(kind: str, content: Content) -> dict[str, Any]:
    """The stored message of a channel kind: `{"subject", "text", "html"}` for e-mail, `{"json":
    body}` for the others."""
    if kind == "email":
        return email(content)
    if kind == "slack":
        return {"json": slack(content)}
    if kind == "teams":
        return {"json": teams(content)}
    return {"json": content.payload}


def _listed(content: Content, limit: int) -> tuple[list[str], int]:
    shown = content.lines[:limit]
    return shown, len(content.lines) - len(shown) + content.more


def email(content: Content, html: str | None = None) -> dict[str, Any]:
    lines, more = _listed(content, MAX_LISTED_EMAIL)
    text = "\n".join(
        [content.title, "", *lines, *([f"… and {more} more."] if more else []), "", content.link]
    )
    if html is None:
        if content.rows:
            html = ALERTS_HTML.render(
                title=content.title,
                lines=content.rows[:MAX_LISTED_EMAIL],
                more=more,
                link=content.link,
            )
        else:
            html = PLAIN_HTML.render(title=content.title, lines=[*lines, content.link])
    return {"subject": content.title, "text": text + "\n", "html": html}


def slack(content: Content) -> dict[str, Any]:
    """Block Kit: a header, one section per alert (plain text: nothing to escape), a button."""
    lines, more = _listed(content, MAX_LISTED)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": content.title[:150]}}
    ]
    blocks += [{"type": "section", "text": {"type": "plain_text", "text": line}} for line in lines]
    if more:
        blocks.append(
            {"type": "context", "elements": [{"type": "plain_text", "text": f"… and {more} more"}]}
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the dashboard"},
                    "url": content.link,
                }
            ],
        }
    )
    return {"text": content.title, "blocks": blocks}


def teams(content: Content) -> dict[str, Any]:
    """A Teams workflow webhook's message: one Adaptive Card (1.4) with the lines and a link."""
    lines, more = _listed(content, MAX_LISTED)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": content.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    body += [{"type": "TextBlock", "text": line, "wrap": True} for line in lines]
    if more:
        body.append({"type": "TextBlock", "text": f"… and {more} more", "isSubtle": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open the dashboard", "url": content.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
