"""Interaction responses: the initial callback, followups and edits through the interaction webhook.

Rules (Docs interactions/receiving-and-responding.mdx; reference §2.2 and §3): the initial response within 3 s
of the event or 404 10062; only one initial response or 400 40060; the token lives 15 minutes, after which the
webhook routes answer 401 50027; commands accept response types 4, 5 and 9, autocomplete only 8; the first
followup after a type-5 defer replaces the "thinking" message instead of posting a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import limits
from .bodies import FILES, INTERACTION, PAYLOAD
from .errors import DiscordError, FormErrors, json_response, unknown
from .store import EPHEMERAL, LOADING, Ack, Interaction, Message

if TYPE_CHECKING:
    from .server import StandIn

ACK_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60.0
CHAT_INPUT_COMMAND_MESSAGE = 20
ALLOWED_RESPONSES = {2: {4, 5, 9}, 4: {8}}


def interaction_routes(standin: StandIn) -> list[web.RouteDef]:
    handlers = InteractionHandlers(standin)
    webhook = "/webhooks/{webhook_id}/{webhook_token}"
    return [
        web.post("/interactions/{interaction_id}/{interaction_token}/callback", handlers.callback),
        web.post(webhook, handlers.followup),
        web.get(webhook + "/messages/{message_id}", handlers.get_message),
        web.patch(webhook + "/messages/{message_id}", handlers.edit_message),
        web.delete(webhook + "/messages/{message_id}", handlers.delete_message),
    ]


def _flag(query_value: str | None) -> bool:
    return (query_value or "").lower() in ("1", "true")


class InteractionHandlers:
    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.store = standin.store
        self.clock = standin.clock

    # -- initial response -------------------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        interaction = self.store.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise unknown("interaction", 10062)
        request[INTERACTION] = interaction
        if interaction.ack is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if self.clock.now() - interaction.created_at > ACK_DEADLINE:
            raise unknown("interaction", 10062)
        body = request[PAYLOAD] or {}
        response_type, data = body.get("type"), body.get("data") or {}
        if response_type not in ALLOWED_RESPONSES[interaction.type]:
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Response type {response_type} is not valid for this interaction",
            )  # code invented
            errors.raise_if_any()
        message = self._respond(interaction, response_type, data, request[FILES])
        interaction.ack = Ack(
            response_type, self.clock.now() - interaction.created_at, bool(data.get("flags", 0) & EPHEMERAL)
        )
        if not _flag(request.query.get("with_response")):
            return web.Response(status=204)
        return json_response(self._callback_body(interaction, response_type, message))

    def _respond(
        self, interaction: Interaction, response_type: int, data: dict[str, Any], files: list[Any]
    ) -> Message | None:
        if response_type == 8:
            option_type = _focused_type(interaction.payload["data"].get("options") or [])
            limits.check_choices(data.get("choices"), option_type)
            interaction.choices = data["choices"]
            return None
        if response_type == 9:
            _check_modal(data)
            interaction.modal = data
            return None
        if response_type == 5:
            data = {"flags": (data.get("flags") or 0) & EPHEMERAL}
            message = self._new_message(interaction, data, [], loading=True)
        else:
            self._check(interaction, data, files, path=("data",))
            message = self._new_message(interaction, data, files)
        interaction.original = message
        return message

    def _callback_body(
        self, interaction: Interaction, response_type: int, message: Message | None
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "activity_instance_id": None,
        }
        body: dict[str, Any] = {"interaction": summary}
        if message is not None:
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
            body["resource"] = {"type": response_type, "message": message.payload()}
        return body

    # -- webhook routes: followups and edits ---------------------------------------------------------------------

    def _webhook_interaction(self, request: web.Request) -> Interaction:
        token = request.match_info["webhook_token"]
        interaction = self.store.interaction_by_token(token)
        if request.match_info["webhook_id"] != str(self.standin.world.application_id) or interaction is None:
            self.standin.note_unimplemented(
                request, "webhooks other than interaction tokens are not implemented"
            )
            raise unknown("Webhook", 10015)
        request[INTERACTION] = interaction
        if self.clock.now() - interaction.created_at > TOKEN_LIFETIME:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if interaction.ack is None or interaction.type != 2:
            raise unknown("Webhook", 10015)
        return interaction

    async def followup(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        data, files = request[PAYLOAD] or {}, request[FILES]
        original = interaction.original
        if original is not None and original.loading and not original.deleted:
            self._check(interaction, data, files, path=(), existing=0)
            self.standin.factory.apply(original, data, files)
            self.standin.dispatch_message("MESSAGE_UPDATE", original)
            message = original
        else:
            self._check(interaction, data, files, path=())
            message = self._new_message(interaction, data, files)
            interaction.followups.append(message)
        if not _flag(request.query.get("wait")):
            return web.Response(status=204)
        return json_response(message.payload())

    def _find(self, interaction: Interaction, message_ref: str) -> Message:
        if message_ref == "@original":
            message = interaction.original
        else:
            message = next((m for m in interaction.messages if str(m.id) == message_ref), None)
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return message

    async def get_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        return json_response(self._find(interaction, request.match_info["message_id"]).payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        message = self._find(interaction, request.match_info["message_id"])
        data, files = request[PAYLOAD] or {}, request[FILES]
        self._check(interaction, data, files, path=(), existing=len(message.attachments), editing=True)
        self.standin.factory.apply(message, data, files)
        self.standin.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(message.payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        message = self._find(interaction, request.match_info["message_id"])
        message.deleted = True
        self.standin.dispatch_message("MESSAGE_DELETE", message)
        return web.Response(status=204)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _check(
        self,
        interaction: Interaction,
        data: dict[str, Any],
        files: list[Any],
        *,
        path: tuple[str, ...],
        existing: int = 0,
        editing: bool = False,
    ) -> None:
        limit = interaction.payload["attachment_size_limit"]
        limits.check_message(
            data,
            files,
            attachment_size_limit=limit,
            path=path,
            ephemeral_allowed=True,
            existing_attachments=existing,
            editing=editing,
        )

    def _new_message(
        self, interaction: Interaction, data: dict[str, Any], files: list[Any], *, loading: bool = False
    ) -> Message:
        world = self.standin.world
        user = world.users[interaction.user_id]
        metadata = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user.payload(),
            "authorizing_integration_owners": {"0": str(interaction.guild_id)},
            "name": interaction.payload["data"]["name"],
        }
        message = self.standin.factory.create(
            interaction.channel_id,
            interaction.guild_id,
            world.bot.payload(),
            data,
            files,
            type=CHAT_INPUT_COMMAND_MESSAGE,
            webhook_id=world.application_id,
            interaction_id=interaction.id,
            interaction_metadata=metadata,
            flags=LOADING if loading else 0,
        )
        self.standin.dispatch_message("MESSAGE_CREATE", message)
        return message


def _focused_type(options: list[dict[str, Any]]) -> int:
    for option in options:
        if option.get("focused"):
            return option["type"]
        found = _focused_type(option.get("options") or [])
        if found:
            return found
    return 0


def _check_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    title, custom_id = data.get("title"), data.get("custom_id")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        errors.add(("data", "title"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        errors.add(("data", "custom_id"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not 1 <= len(data.get("components") or []) <= 5:
        errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    errors.raise_if_any()
