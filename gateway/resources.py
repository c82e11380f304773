"""The resources (RFC 8707) the gateway's access tokens may be bound to, and their audiences.

One resource server stands behind the gateway: the REST API (`GATEWAY_AUDIENCE`, resource id the
gateway's own URL) and the MCP endpoint below it (`<issuer>/mcp`, audience the same URL). A token
request that names no resource gets the API's audience; one that names another resource is refused
with `invalid_target`."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error

MCP_PATH = "/mcp"


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the resource asked for is not one of ours, or not the one already granted."""

    error = "invalid_target"
    description = "The resource is not served by this authorization server."


def resource_url(issuer: str) -> str:
    """The MCP server's resource identifier (RFC 8707 / RFC 9728): its public URL."""
    return issuer.rstrip("/") + MCP_PATH


def audience_for(resource: str | None, issuer: str, api_audience: str) -> str:
    """The `aud` of a token for `resource` (None: the API)."""
    return resource_url(issuer) if resource == resource_url(issuer) else api_audience


def accepted_audiences(issuer: str, api_audience: str) -> list[str]:
    """Every `aud` the gateway takes on its own tokens: the API's and the MCP endpoint's."""
    return [api_audience, resource_url(issuer)]


def requested_resource(values: list[str], issuer: str) -> str | None:
    """The one resource a request names: the MCP endpoint's URL, or None for the API (none named,
    or the gateway's own URL). RFC 8707 allows several `resource` values; the gateway issues
    tokens for one at a time."""
    named = {value.rstrip("/") for value in values if value}
    if len(named) > 1:
        raise InvalidTargetError(description="Ask for one resource at a time.")
    resource = named.pop() if named else None
    if resource is None or resource == issuer.rstrip("/"):
        return None
    if resource != resource_url(issuer):
        raise InvalidTargetError()
    return resource


def granted_resource(values: list[str], issuer: str, granted: str | None) -> str | None:
    """The resource of a token redeemed from a grant (a code, a refresh token) bound to `granted`:
    that one; a request that names a resource must name the same."""
    if any(values) and requested_resource(values, issuer) != granted:
        raise InvalidTargetError(description="The resource is not the one granted.")
    return granted
