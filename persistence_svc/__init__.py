"""The persistence service package; `flask --app persistence_svc` finds `create_app` here."""

from persistence_svc.app import create_app

__all__ = ["create_app"]
