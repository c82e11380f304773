"""HTTP layer of notifications: channels and the delivery log (admins), routes (admins; managers
their own self-service route), silences (managers for their teams, admins any)."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView

from shared import db
from shared.api import Blueprint, current_principal, cursor_int, decode_cursor, encode_cursor
from shared.api import team_scope as caller_teams
from shared.errors import NotFound
from trends_svc import notifications
from trends_svc.notifications import channels, routes, silences, store, store_queue
from trends_svc.notifications.schemas import (
    ChannelListSchema,
    ChannelSchema,
    ChannelTestSchema,
    ConfirmSchema,
    DeliveryArgsSchema,
    DeliveryPageSchema,
    RouteListSchema,
    RouteSchema,
    SilenceArgsSchema,
    SilenceListSchema,
    SilenceSchema,
)

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/notifications",
    description="Alert notifications: channels, routes, silences, delivery log.",
)


def now():
    return notifications.clock()


def keys():
    """The sealing key and the delivery settings."""
    return (
        current_app.extensions["notifications_fernet"],
        current_app.extensions["notifications_delivery"],
    )


@blp.route("/channels")
class Channels(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="listNotificationChannels")
    @blp.response(200, ChannelListSchema)
    def get(self):
        """List notification channels

        URLs and addresses are masked, secrets shown only as `secret_set`.
        """
        with db.connection() as conn:
            return {"items": [channels.public(c) for c in store.list_channels(conn)]}

    @blp.roles("admin")
    @blp.doc(operationId="createNotificationChannel")
    @blp.arguments(ChannelSchema)
    @blp.response(201, ChannelSchema)
    def post(self, data):
        """Create a notification channel (e-mail, Slack, Teams or webhook)

        Its URL, secret and addresses are stored encrypted; in production a target on a
        loopback or private network is refused unless allowed by the configuration.
        """
        with db.connection() as conn:
            channel = channels.create(conn, *keys(), data, current_principal().subject)
        return channels.public(channel)


@blp.route("/channels/<uuid:channel_id>")
class Channel(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="getNotificationChannel")
    @blp.response(200, ChannelSchema)
    def get(self, channel_id: uuid.UUID):
        """Get a notification channel (masked)

        URLs and addresses masked, secrets only as `secret_set`.
        """
        with db.connection() as conn:
            return channels.public(channels.admin_channel(conn, channel_id))

    @blp.roles("admin")
    @blp.doc(operationId="updateNotificationChannel")
    @blp.arguments(ChannelSchema)
    @blp.response(200, ChannelSchema)
    def put(self, data, channel_id: uuid.UUID):
        """Change a notification channel

        Config fields left out keep their stored values (send a new `url` or `secret` to
        replace it); the kind cannot change.
        """
        with db.connection() as conn:
            return channels.public(channels.update(conn, *keys(), channel_id, data))

    @blp.roles("admin")
    @blp.doc(operationId="deleteNotificationChannel")
    @blp.response(204)
    def delete(self, channel_id: uuid.UUID):
        """Delete a notification channel

        Its routes and queued messages go with it.
        """
        with db.connection() as conn:
            channels.admin_channel(conn, channel_id)
            store.delete_channel(conn, channel_id)


@blp.route("/channels/<uuid:channel_id>/test")
class ChannelTest(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="testNotificationChannel")
    @blp.response(200, ChannelTestSchema)
    def post(self, channel_id: uuid.UUID):
        """Send a test message to a channel now

        Answers whether the receiver accepted it and its answer in short (status and start of
        the body, or the SMTP server's verdict).
        """
        with db.connection() as conn:
            return channels.send_test(
                conn, *keys(), channel_id, current_app.extensions["dashboard_base"]
            )


@blp.route("/routes")
class Routes(MethodView):
    @blp.roles("manager", "admin")
    @blp.doc(operationId="listNotificationRoutes")
    @blp.response(200, RouteListSchema)
    def get(self):
        """List notification routes

        Admins see every route; a manager their own self-service routes.
        """
        with db.connection() as conn:
            return {"items": routes.listed(conn, current_principal())}

    @blp.roles("manager", "admin")
    @blp.doc(operationId="createNotificationRoute")
    @blp.arguments(RouteSchema)
    @blp.response(201, RouteSchema)
    def post(self, data):
        """Create a notification route

        Admins route alerts matching `teams`, `rules`, `categories` (empty: all) to a channel.
        A manager gives `email` (their own address) and their own teams: a code is e-mailed
        there and the route is active once confirmed.
        """
        with db.connection() as conn:
            return routes.create(
                conn,
                *keys(),
                current_principal(),
                data,
                now(),
                current_app.extensions["dashboard_base"],
            )


@blp.route("/routes/<uuid:route_id>")
class Route(MethodView):
    @blp.roles("manager", "admin")
    @blp.doc(operationId="getNotificationRoute")
    @blp.response(200, RouteSchema)
    def get(self, route_id: uuid.UUID):
        """Get a notification route

        A manager gets their own self-service routes only (404 for any other).
        """
        with db.connection() as conn:
            route = routes.get(conn, current_principal(), route_id)
            return routes.public(route, store.get_channel(conn, route["channel_id"]))

    @blp.roles("admin")
    @blp.doc(operationId="updateNotificationRoute")
    @blp.arguments(RouteSchema)
    @blp.response(200, RouteSchema)
    def put(self, data, route_id: uuid.UUID):
        """Change an admin's notification route

        Matching, grouping and timing; a self-service route is deleted and made anew instead.
        """
        with db.connection() as conn:
            return routes.update(conn, route_id, data)

    @blp.roles("manager", "admin")
    @blp.doc(operationId="deleteNotificationRoute")
    @blp.response(204)
    def delete(self, route_id: uuid.UUID):
        """Delete a notification route

        A manager deletes their own self-service routes (with their private channel).
        """
        with db.connection() as conn:
            routes.delete(conn, current_principal(), route_id)


@blp.route("/routes/<uuid:route_id>/confirm")
class RouteConfirmation(MethodView):
    @blp.roles("manager", "admin")
    @blp.doc(operationId="confirmNotificationRoute")
    @blp.arguments(ConfirmSchema)
    @blp.response(200, RouteSchema)
    def post(self, data, route_id: uuid.UUID):
        """Confirm a self-service route

        With the code e-mailed to its address; the route is active from then on.
        """
        with db.connection() as conn:
            return routes.confirm(conn, current_principal(), route_id, data["code"], now())


@blp.route("/silences")
class Silences(MethodView):
    @blp.roles("manager", "admin")
    @blp.doc(operationId="listSilences")
    @blp.arguments(SilenceArgsSchema, location="query")
    @blp.response(200, SilenceListSchema)
    def get(self, args):
        """List silences

        Active ones unless `active=false`; a manager sees their teams' silences.
        """
        with db.connection() as conn:
            return {"items": silences.listed(conn, caller_teams(), now(), args["active"])}

    @blp.roles("manager", "admin")
    @blp.doc(operationId="createSilence")
    @blp.arguments(SilenceSchema)
    @blp.response(201, SilenceSchema)
    def post(self, data):
        """Silence matching alerts until `ends_at`

        Any subset of `rule`, `team`, `engineer_code`, `category` (a manager must give one of
        their teams). Silenced alerts are still raised and listed, but not sent.
        """
        with db.connection() as conn:
            return silences.create(conn, current_principal(), data, now())


@blp.route("/silences/<uuid:silence_id>")
class Silence(MethodView):
    @blp.roles("manager", "admin")
    @blp.doc(operationId="expireSilence")
    @blp.response(200, SilenceSchema)
    def delete(self, silence_id: uuid.UUID):
        """Expire a silence now

        Its alerts are sent again from the next evaluation or repeat on.
        """
        with db.connection() as conn:
            return silences.expire(conn, current_principal(), silence_id, caller_teams(), now())


@blp.route("/deliveries")
class Deliveries(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="listNotificationDeliveries")
    @blp.arguments(DeliveryArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args):
        """The delivery log, newest first

        Each message's channel, purpose, status (`pending`, `delivered`, `dead` after the last
        attempt), attempts and last error; `counts` by status.
        """
        before = decode_cursor(args["cursor"], cursor_int)[0] if args.get("cursor") else None
        with db.connection() as conn:
            rows = store_queue.list_deliveries(conn, args.get("status"), before, args["limit"])
            counts = store_queue.delivery_counts(conn)
        last = rows[-1] if len(rows) == args["limit"] else None
        items = [{**row, "subject": row["message"].get("subject")} for row in rows]
        return {
            "items": items,
            "counts": counts,
            "next_cursor": encode_cursor([last["message_id"]]) if last else None,
        }


@blp.route("/deliveries/<int:message_id>/retry")
class DeliveryRetry(MethodView):
    @blp.roles("admin")
    @blp.doc(operationId="retryNotificationDelivery")
    @blp.response(204)
    def post(self, message_id: int):
        """Retry a dead letter

        A message that used up its attempts gets a new round of delivery attempts.
        """
        with db.connection() as conn:
            if store_queue.retry_message(conn, message_id, now()) is None:
                raise NotFound("No dead letter with this id.")
