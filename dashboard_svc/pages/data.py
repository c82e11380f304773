"""Data: export the sessions with the current filters (CSV, JSON, NDJSON), and for admins an import
with a dry-run preview first and the commit after."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard_svc import api_client, ids
from dashboard_svc.api_client import ApiError, clean
from dashboard_svc.components import message
from dashboard_svc.layout import principal

PATH = "/data"
NAME = "Data"
ORDER = 7
FILTERS = ("period", "team", "region", "language", "root_cause")  # the export applies all
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json", ".ndjson": "application/x-ndjson"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # larger files go through the API directly (see docs/api.md)


def is_admin() -> bool:
    user = principal()
    return bool(user and user.has_role("admin"))


def layout(**_query):
    sections = [
        html.H1("Data", className="h4"),
        html.H2("Export", className="h5"),
        html.P(
            "The sessions matching the filters above, streamed as a file (pseudonyms only).",
            className="text-muted small",
        ),
        dbc.Row(
            [
                dbc.Col(
                    dbc.RadioItems(
                        id=ids.EXPORT_FORMAT,
                        value="csv",
                        inline=True,
                        options=[
                            {"label": f.upper(), "value": f} for f in ("csv", "json", "ndjson")
                        ],
                    ),
                    md="auto",
                ),
                dbc.Col(
                    html.A("Download", id=ids.EXPORT_LINK, className="btn btn-primary", href="#"),
                    md="auto",
                ),
            ],
            className="g-3 align-items-center mb-4",
        ),
    ]
    if is_admin():
        sections += [
            html.H2("Import", className="h5"),
            html.P(
                "CSV, JSON or NDJSON. Check the file first (nothing is written), then import it; "
                "bad rows are skipped and listed.",
                className="text-muted small",
            ),
            dcc.Store(id=ids.IMPORT_FILE),
            dcc.Upload(
                id=ids.IMPORT_UPLOAD,
                max_size=MAX_UPLOAD_BYTES,
                children=html.Div(["Drop a file here or ", html.A("choose one", href="#")]),
                className="border border-2 rounded p-4 text-center bg-light mb-2",
            ),
            dbc.Button(
                "Check file (dry run)", id=ids.IMPORT_PREVIEW, color="secondary", className="me-2"
            ),
            dbc.Button("Import", id=ids.IMPORT_COMMIT, color="primary", disabled=True),
            dcc.Loading(html.Div(id=ids.IMPORT_REPORT, className="mt-3")),
        ]
    else:
        sections.append(html.P("Imports are for admins.", className="text-muted small"))
    return html.Div(sections)


def export_href(file_format: str, filters: dict | None) -> str:
    wanted = filters or {}
    params = clean(
        {key: wanted.get(key) for key in ("team", "region", "language", "root_cause", "from", "to")}
    )
    return "/dashboard/download/sessions?" + urlencode({"format": file_format, **(params or {})})


def decode_upload(contents: str | None, filename: str | None) -> tuple[bytes, str]:
    """The uploaded bytes and their media type (by file name); ValueError with a reason."""
    if not contents or not filename:
        raise ValueError("Choose a file first.")
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in MEDIA_TYPES:
        raise ValueError("Use a .csv, .json or .ndjson file.")
    try:
        content = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error):
        raise ValueError("The file could not be read.") from None
    return content, MEDIA_TYPES[suffix]


def report_view(report: dict) -> html.Div:
    """Counts and the first rejected rows of an import report."""
    counts = dbc.Row(
        [
            dbc.Col(
                html.Div(
                    [
                        html.Div(name, className="small text-muted"),
                        html.Div(
                            str(report.get(key) or 0), className="fs-4 fw-bold", id=f"import-{key}"
                        ),
                    ]
                ),
                md=2,
            )
            for name, key in (
                ("rows", "total"),
                ("would go in" if report["dry_run"] else "imported", "inserted"),
                ("unchanged", "unchanged"),
                ("rejected", "rejected"),
            )
        ]
    )
    errors = report.get("errors") or []
    header = html.Thead(
        html.Tr([html.Th("Row"), html.Th("Field"), html.Th("Code"), html.Th("Reason")])
    )
    body = html.Tbody(
        [
            html.Tr(
                [html.Td(e["row"]), html.Td(e["field"]), html.Td(e["code"]), html.Td(e["message"])]
            )
            for e in errors[:50]
        ]
    )
    table = dbc.Table([header, body], size="sm", striped=True) if errors else None
    status = f"{'Dry run' if report['dry_run'] else 'Import'} {report['status']}"
    if report.get("failure"):
        status += f": {report['failure']}"
    return html.Div([html.P(status, className="fw-semibold", id="import-status"), counts, table])


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.EXPORT_LINK, "href"),
        Input(ids.EXPORT_FORMAT, "value"),
        Input(ids.FILTERS, "data"),
    )
    def update_export_link(file_format, filters):
        return export_href(file_format or "csv", filters)

    @app.callback(
        Output(ids.IMPORT_FILE, "data"),
        Output(ids.IMPORT_COMMIT, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_REPORT, "children", allow_duplicate=True),
        Input(ids.IMPORT_UPLOAD, "contents"),
        State(ids.IMPORT_UPLOAD, "filename"),
        prevent_initial_call=True,
    )
    def keep_file(contents, filename):
        return (
            {"contents": contents, "filename": filename},
            True,
            html.P(f"Chosen: {filename}", className="small"),
        )

    @app.callback(
        Output(ids.IMPORT_REPORT, "children", allow_duplicate=True),
        Output(ids.IMPORT_COMMIT, "disabled", allow_duplicate=True),
        Input(ids.IMPORT_PREVIEW, "n_clicks"),
        Input(ids.IMPORT_COMMIT, "n_clicks"),
        State(ids.IMPORT_FILE, "data"),
        prevent_initial_call=True,
    )
    def run_import(_preview, _commit, chosen):
        if not is_admin():
            return message(text="Imports are for admins."), True
        dry_run = dash.callback_context.triggered_id == ids.IMPORT_PREVIEW
        try:
            content, media_type = decode_upload(
                (chosen or {}).get("contents"), (chosen or {}).get("filename")
            )
            report = api_client.start_import(content, media_type, dry_run=dry_run)
        except ValueError as reason:
            return message(text=str(reason)), True
        except ApiError as error:
            return message(error), True
        parsed_ok = report["status"] != "failed"
        return report_view(report), not (dry_run and parsed_ok)
