"""The persistence service package; `flask --app persistence_svc` finds `create_app` here.

The app is imported when asked for: an import's validation workers import only what validates
(`persistence_svc.imports`), which starts them in half the time."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from persistence_svc.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
