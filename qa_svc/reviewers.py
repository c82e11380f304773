"""The reviewer directory: QA reviewers by the display name the gateway gives, who is active."""

from __future__ import annotations

import psycopg

from qa_svc import quality_store
from shared.tokens import Principal

UNNAMED = "unnamed reviewer"


def display_name(principal: Principal) -> str:
    """The caller's display name as the gateway's token carries it; a caller without one (a
    machine client) is an unnamed reviewer, never its bare subject id."""
    return principal.name or UNNAMED


def note(conn: psycopg.Connection, principal: Principal) -> None:
    """Keep the caller in the reviewer directory (a QA lead becomes a reviewer by using QA)."""
    if principal.has_role("qa_lead"):
        quality_store.note_reviewer(conn, principal.subject, display_name(principal))
