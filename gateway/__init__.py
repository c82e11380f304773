"""The gateway package; `flask --app gateway` finds `create_app` here."""

from gateway.app import create_app

__all__ = ["create_app"]
