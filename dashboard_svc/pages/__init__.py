"""The dashboard's pages, one module per URL (registered by the app factory, in this order)."""

from dashboard_svc.pages import (
    alerts,
    data,
    engineer,
    engineers,
    languages,
    notifications,
    overview,
    root_causes,
    roster,
)

PAGES = (overview, root_causes, languages, engineers, engineer, alerts, roster, data, notifications)
