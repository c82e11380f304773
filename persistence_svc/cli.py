"""Flask commands of the persistence service: synthetic data for benchmarks. The generator lives in
`devstack.seed` (development tooling), imported only when the command runs."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shared.web import settings_of


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_command)


@click.command("seed")
@with_appcontext
@click.option(
    "--size",
    type=click.Choice(["small", "medium", "large"]),  # devstack.seed.SIZES
    default="small",
    show_default=True,
    help="small: 1,000 rows over 180 days; medium: 100,000 over 365; large: 2,000,000 over 730.",
)
@click.option("--rows", type=click.IntRange(min=1), help="Number of sessions (overrides --size).")
@click.option("--days", type=click.IntRange(min=1), help="Days the sessions span, up to --until.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True, help="Random seed.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the span (default: today, UTC).",
)
@click.option("--force", is_flag=True, help="Seed even when CR_ENV=production.")
def seed_command(size, rows, days, seed_value, until, force):
    """Load synthetic sessions through the import path (for benchmarks).

    The same options give the same sessions (ids included), so a second run adds nothing.
    Refused when CR_ENV=production unless --force.
    """
    if settings_of(current_app).production and not force:
        raise click.ClickException(
            "CR_ENV=production: seeding adds synthetic sessions that trends, alerts and exports "
            "treat as real. Pass --force for a production-configured staging database."
        )
    from devstack import seed

    default_rows, default_days = seed.SIZES[size]
    plan = seed.Plan(
        rows=rows or default_rows,
        days=days or default_days,
        seed=seed_value,
        until=(until or datetime.now(UTC)).date(),
    )
    click.echo(
        f"seeding {plan.rows:,} sessions over {plan.days} days up to {plan.until} "
        f"(seed {plan.seed}, {plan.engineers:,} engineers)"
    )
    try:
        run = seed.seed_sessions(current_app._get_current_object(), plan, progress=_print_progress)
    except KeyboardInterrupt:
        raise click.ClickException(
            "interrupted: the chunks loaded so far stay; the same command again loads the rest"
        ) from None
    report = run.report
    click.echo(
        f"{report.status}: {report.processed:,} of {report.total:,} rows in "
        f"{run.import_seconds:.1f} s ({_rate(report.processed, run.import_seconds)} rows/s) after "
        f"{run.prepare_seconds:.1f} s generating and checking {run.bytes / 1_048_576:,.1f} MB; "
        f"inserted {report.inserted:,}, unchanged {report.unchanged:,}, "
        f"rejected {report.rejected:,}; import {report.id}"
    )
    if report.status != "completed" or report.rejected:
        for error in report.errors[:5]:
            click.echo(f"  row {error['row']} {error['field']}: {error['message']}", err=True)
        raise click.ClickException(report.failure or "Some rows were rejected.")


def _print_progress(report, seconds: float) -> None:
    click.echo(
        f"  {report.processed:,} / {report.total:,} rows, {_rate(report.processed, seconds)} rows/s"
    )


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"
