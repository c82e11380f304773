"""Small building blocks shared by the pages: KPI cards, messages, loading wrappers, grids."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard_svc.api_client import ApiError

# d3-format in the grids (dash-ag-grid exposes d3 to its function strings).
SCORE_FORMAT = {"function": "params.value == null ? '—' : d3.format('.2f')(params.value)"}
COUNT_FORMAT = {"function": "params.value == null ? '—' : d3.format(',d')(params.value)"}
SHARE_FORMAT = {"function": "params.value == null ? '—' : d3.format('.1%')(params.value)"}


def kpi_card(
    title: str,
    value: str,
    change: str | None,
    component_id: str,
    tone: str = "muted",
    caption: str | None = None,
):
    body = [
        html.Div(title, className="kpi-title"),
        html.Div(value, className="kpi-value", id=f"{component_id}-value"),
        html.Div(change or "no earlier data", className=f"small text-{tone}"),
    ]
    if caption:
        body.append(html.Div(caption, className="kpi-caption", id=f"{component_id}-caption"))
    return dbc.Card(dbc.CardBody(body), id=component_id, className="h-100 kpi")


def change_text(change: float | None, unit: str = "", digits: int = 2) -> tuple[str | None, str]:
    """`+0.12 vs previous period` and a colour; None when there is nothing to compare with. A
    change that rounds to zero is "no change" (never a red "-0.00")."""
    if change is None:
        return None, "muted"
    shown = round(change) if unit == "count" else round(change, digits)
    if shown == 0:
        return "no change vs previous period", "muted"
    text = (
        f"{shown:+,} vs previous period"
        if unit == "count"
        else f"{shown:+.{digits}f} vs previous period"
    )
    return text, "success" if shown > 0 else "danger"


def message(error: ApiError | None = None, text: str | None = None, colour: str = "warning"):
    """An alert box for an API error or a plain note; nothing when there is neither."""
    if error is not None:
        return dbc.Alert(error.message, color="danger" if error.status >= 500 else "warning")
    if text:
        return dbc.Alert(text, color=colour)
    return None


def loading(*children):
    return dcc.Loading(html.Div(list(children)), type="default", delay_show=150)


def grid(component_id: str, columns: list[dict], **options):
    """An AG Grid table with sorting and filtering on every column. Columns have minimum widths
    and flex: they keep their width whatever the rows hold (no re-fit on every data change)."""
    return dag.AgGrid(
        id=component_id,
        columnDefs=columns,
        rowData=[],
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "flex": 1,
            "minWidth": 110,
            "tooltipValueGetter": {"function": "params.valueFormatted ?? params.value"},
        },
        dashGridOptions={
            "domLayout": "autoHeight",
            "pagination": True,
            "paginationPageSize": 20,
            "paginationPageSizeSelector": [20, 50, 100],
            "tooltipShowDelay": 300,
            **options.pop("grid_options", {}),
        },
        className="ag-theme-quartz",
        **options,
    )


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
