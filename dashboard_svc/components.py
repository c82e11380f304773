"""Small building blocks shared by the pages: KPI cards, messages, loading wrappers, grids."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard_svc.api_client import ApiError


def kpi_card(title: str, value: str, change: str | None, component_id: str, tone: str = "muted"):
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(title, className="text-muted small text-uppercase fw-semibold"),
                html.Div(value, className="fs-3 fw-bold", id=f"{component_id}-value"),
                html.Div(change or "no earlier data", className=f"small text-{tone}"),
            ]
        ),
        id=component_id,
        className="h-100 shadow-sm",
    )


def change_text(change: float | None, unit: str = "", digits: int = 2) -> tuple[str | None, str]:
    """`+0.12 vs previous period` and a colour; None when there is nothing to compare with."""
    if change is None:
        return None, "muted"
    if unit == "count":
        text = f"{change:+.0f} vs previous period"
    else:
        text = f"{change:+.{digits}f} vs previous period"
    return text, "success" if change > 0 else "danger" if change < 0 else "muted"


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
    """An AG Grid table with sorting and filtering on every column."""
    return dag.AgGrid(
        id=component_id,
        columnDefs=columns,
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1},
        columnSize="responsiveSizeToFit",
        dashGridOptions={
            "domLayout": "autoHeight",
            "pagination": True,
            "paginationPageSize": 20,
            **options.pop("grid_options", {}),
        },
        className="ag-theme-alpine",
        **options,
    )


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
