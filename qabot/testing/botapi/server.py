"""A stand-in Telegram Bot API server on 127.0.0.1, for testing the real bot over real HTTP.

It implements what qabot's bot calls (getMe, getUpdates with offset and long-poll timeout,
sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery, sendChatAction,
setMyCommands, getFile and the file download, setWebhook/deleteWebhook/getWebhookInfo,
sendDocument) and validates requests the way Telegram does (forum topics: `message_thread_id`
must name a topic of a forum chat): 4096 UTF-16 units per message after
HTML parsing, HTML entity errors as 400 "can't parse entities", callback data of 1-64 bytes, a
20 MB download limit, and 429 with ``retry_after`` when a test asks for it (`fail_next`).
It can also answer a request with a fault (`fault_next`: 500, 502, a dropped connection, a late
answer) and enforce Telegram's flood limits (``flood_limits=True``; see `faults`).

Tests play the users: `send_text`, `send_document`, `press`, `edit_text` and friends build updates the way
Telegram clients would (a ``bot_command`` entity for ``/cmd``, ``mention`` entities for
``@name``) and hand them to the bot by long poll, or by POST when a webhook is set. Everything the
bot sends is recorded (`calls`, `bot_messages`) and can be awaited (`replies`, `wait_call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from qabot.testing.botapi.faults import Fault, FloodLimits
from qabot.testing.botapi.html_check import EntityParseError, parse_html, utf16_len

MAX_MESSAGE_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
_JSON_PARAMS = {
    "reply_markup", "commands", "allowed_updates", "entities", "reply_parameters",
    "link_preview_options", "scope", "caption_entities",
}  # fmt: skip
_INT_PARAMS = {
    "chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "message_thread_id",
}  # fmt: skip
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description, optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class TelegramUser:
    """A human on the Telegram side; `language_code` drives the bot's language."""

    id: int
    first_name: str = "Tester"
    language_code: str | None = "en"
    username: str | None = None

    def as_dict(self) -> dict:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d


@dataclass
class ApiCall:
    """One request the bot made: method, decoded parameters, and what it was answered."""

    method: str
    params: dict
    status: int = 200
    description: str = ""
    at: float = field(default_factory=time.monotonic)


def _entities_for(text: str) -> list[dict]:
    """Entities a Telegram client attaches: a leading /command and @mentions (UTF-16 offsets)."""
    entities = []
    if text.startswith("/"):
        cmd = text.split(maxsplit=1)[0] if text.strip() else "/"
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(cmd)})
    for m in _MENTION.finditer(text):
        entities.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group(0)),
            }
        )
    return entities


class BotApiServer:
    """The stand-in server. Use as ``async with BotApiServer(token) as server:``."""

    def __init__(
        self,
        token: str,
        *,
        bot_id: int = 7000000001,
        bot_username: str = "qabot_test_bot",
        flood_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.port = 0
        self.calls: list[ApiCall] = []
        self.ready = asyncio.Event()  # first getUpdates (polling) or setWebhook arrived
        self.commands: dict[str, list[dict]] = {}  # language_code ("" default) -> commands
        self.webhook: dict | None = None
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> message
        self._chats: dict[int, dict] = {}
        self._topics: dict[int, set[int]] = {}  # forum chat id -> its topics' thread ids
        self._files: dict[str, tuple[str, bytes | None, int]] = {}  # id -> (path, data, size)
        self._file_ids = itertools.count(1)
        self._callbacks: dict[str, bool] = {}  # query id -> answered
        self._callback_ids = itertools.count(1)
        self._failures: dict[str, list[int]] = {}  # method -> retry_after values to serve
        self._faults: dict[str, list[Fault]] = {}  # method -> faults to serve
        self.flood = FloodLimits() if flood_limits else None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._client: aiohttp.ClientSession | None = None

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> BotApiServer:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._client = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        async with self._changed:  # end pending long polls now, not at their timeout
            self._closing = True
            self._changed.notify_all()
        if self._client:
            await self._client.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> BotApiServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def fail_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests."""
        self._failures.setdefault(method, []).extend([retry_after] * times)

    def fault_next(self, method: str, kind: str, *, times: int = 1, delay: float = 6.0) -> None:
        """Answer the next `times` calls of `method` with a fault: "500" or "502" (not
        handled), "drop" (the connection is closed before the request is handled) or "slow"
        (handled, then answered after `delay` seconds)."""
        self._faults.setdefault(method, []).extend([Fault(kind, delay)] * times)

    @property
    def pending_updates(self) -> int:
        """Updates not confirmed by the bot yet (what Telegram would deliver again)."""
        return len(self._updates)

    # ---------------------------------------------------------------- chats
    def private_chat(self, user: TelegramUser) -> dict:
        chat = {"id": user.id, "type": "private", "first_name": user.first_name}
        self._chats[user.id] = chat
        return chat

    def group_chat(self, chat_id: int, title: str = "Test group", kind: str = "supergroup") -> dict:
        chat = {"id": chat_id, "type": kind, "title": title}
        self._chats[chat_id] = chat
        return chat

    def forum_chat(self, chat_id: int, title: str = "Test forum") -> dict:
        """A supergroup with topics enabled (``is_forum``)."""
        chat = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        self._chats[chat_id] = chat
        self._topics.setdefault(chat_id, set())
        return chat

    def create_topic(self, chat: dict, name: str, creator: TelegramUser) -> int:
        """A forum topic, as Telegram makes one: its thread id is the message id of the service
        message announcing it."""
        msg = self._new_message(
            chat,
            creator.as_dict(),
            forum_topic_created={"name": name, "icon_color": 7322096},
            is_topic_message=True,
        )
        msg["message_thread_id"] = msg["message_id"]
        self._topics[chat["id"]].add(msg["message_id"])
        return msg["message_id"]

    def _thread(self, chat: dict, params: dict) -> dict:
        """The fields a message sent with `message_thread_id` gets; without one, a message in a
        forum goes to its General topic (no thread fields)."""
        thread = params.get("message_thread_id")
        if thread is None:
            return {}
        if thread not in self._topics.get(chat["id"], set()):
            raise bad_request("message thread not found")
        return {"message_thread_id": thread, "is_topic_message": True}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _new_message(self, chat: dict, sender: dict | None, **fields: Any) -> dict:
        self._chats.setdefault(chat["id"], chat)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
        }
        if sender is not None:
            msg["from"] = sender
        msg.update(fields)
        self._messages[(chat["id"], msg["message_id"])] = msg
        return msg

    @property
    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "QA Bot",
            "username": self.bot_username,
        }

    # ---------------------------------------------------------------- users act
    async def push_update(self, payload: dict) -> dict:
        """Deliver one update (``update_id`` is added): queued for getUpdates, or POSTed to
        the webhook when one is set."""
        update = {"update_id": next(self._update_ids), **payload}
        if self.webhook:
            await self._deliver(update)
        else:
            async with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
        return update

    async def _deliver(self, update: dict) -> None:
        assert self.webhook and self._client
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        deadline = time.monotonic() + 10
        while True:  # the bot sets its webhook before its server listens; Telegram retries too
            try:
                async with self._client.post(
                    self.webhook["url"], json=update, headers=headers
                ) as resp:
                    if resp.status == 200:
                        return
                    error = f"webhook answered {resp.status}"
            except aiohttp.ClientConnectionError as exc:
                error = str(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook delivery failed: {error}")
            await asyncio.sleep(0.1)

    async def send_text(
        self,
        user: TelegramUser,
        text: str,
        *,
        chat: dict | None = None,
        reply_to: dict | None = None,
        entities: list[dict] | None = None,
        thread: int | None = None,
    ) -> dict:
        """The user sends a text message (private chat unless `chat` is given; in forum topic
        `thread` if given)."""
        chat = chat or self.private_chat(user)
        fields: dict[str, Any] = {"text": text}
        if thread is not None:
            fields.update(message_thread_id=thread, is_topic_message=True)
        ents = _entities_for(text) if entities is None else entities
        if ents:
            fields["entities"] = ents
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        msg = self._new_message(chat, user.as_dict(), **fields)
        await self.push_update({"message": msg})
        return msg

    async def send_document(
        self,
        user: TelegramUser,
        file_name: str,
        content: bytes,
        *,
        chat: dict | None = None,
        mime_type: str = "text/plain",
        declared_size: int | None = None,
    ) -> dict:
        """The user sends a file; `declared_size` fakes a large file without the bytes."""
        chat = chat or self.private_chat(user)
        n = next(self._file_ids)
        file_id = f"FILE{n:06d}"
        size = declared_size if declared_size is not None else len(content)
        self._files[file_id] = (f"documents/file_{n}", content, size)
        doc = {
            "file_id": file_id,
            "file_unique_id": f"U{n:06d}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        msg = self._new_message(chat, user.as_dict(), document=doc)
        await self.push_update({"message": msg})
        return msg

    async def send_media(self, user: TelegramUser, kind: str, *, chat: dict | None = None) -> dict:
        """The user sends a sticker, photo or voice message (no text)."""
        chat = chat or self.private_chat(user)
        n = next(self._file_ids)
        base = {"file_id": f"M{n}", "file_unique_id": f"MU{n}"}
        media: dict[str, Any] = {
            "sticker": {**base, "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "emoji": "👍"},
            "photo": [{**base, "width": 90, "height": 90}],
            "voice": {**base, "duration": 2},
        }[kind]  # fmt: skip
        msg = self._new_message(chat, user.as_dict(), **{kind: media})
        await self.push_update({"message": msg})
        return msg

    async def edit_text(
        self, user: TelegramUser, message: dict, text: str, *, edit_date: int | None = None
    ) -> dict:
        """The user edits a message they sent earlier (at `edit_date`, a Unix time: now unless
        given). Telegram sends the whole message again, with its first ``date``, the new text
        and entities, and ``edit_date``."""
        edited = {**message, "text": text, "edit_date": edit_date or int(time.time())}
        edited.pop("entities", None)
        if entities := _entities_for(text):
            edited["entities"] = entities
        self._messages[(message["chat"]["id"], message["message_id"])] = edited
        await self.push_update({"edited_message": edited})
        return edited

    def delete_message(self, message: dict) -> None:
        """A user deletes a message (in a private chat, a bot's too): editing it fails after."""
        self._messages.pop((message["chat"]["id"], message["message_id"]), None)

    async def channel_post(self, chat_id: int, text: str) -> dict:
        """A post in a channel the bot was added to."""
        chat = {"id": chat_id, "type": "channel", "title": "Test channel"}
        msg = self._new_message(chat, None, text=text, sender_chat=chat)
        await self.push_update({"channel_post": msg})
        return msg

    async def press(self, user: TelegramUser, message: dict, button_text: str) -> str:
        """The user presses an inline button (found by its text) under a bot message; returns
        the callback query id, to await its `answerCallbackQuery`."""
        current = self._messages[(message["chat"]["id"], message["message_id"])]
        rows = (current.get("reply_markup") or {}).get("inline_keyboard", [])
        buttons = [b for row in rows for b in row if b["text"] == button_text]
        if not buttons:
            raise AssertionError(f"no button {button_text!r} under message: {rows}")
        return await self.press_data(user, current, buttons[0]["callback_data"])

    async def press_data(self, user: TelegramUser, message: dict, data: str) -> str:
        query_id = str(next(self._callback_ids))
        self._callbacks[query_id] = False
        await self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "message": message,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )
        return query_id

    # ---------------------------------------------------------------- observing
    def bot_messages(self, chat_id: int, *, after: int = 0) -> list[dict]:
        """The bot's messages in a chat (as they are now, after edits), oldest first."""
        return sorted(
            (
                m
                for (c, mid), m in self._messages.items()
                if c == chat_id and mid > after and m.get("from", {}).get("id") == self.bot_id
            ),
            key=lambda m: m["message_id"],
        )

    async def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked whenever the bot calls the API)."""

        async def check() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        try:
            return await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s; last calls: "
                + "; ".join(f"{c.method} {c.status} {c.description}" for c in self.calls[-8:])
            ) from None

    async def replies(
        self, chat_id: int, *, after: int = 0, count: int = 1, timeout: float = 10.0
    ) -> list[dict]:
        """Wait for at least `count` bot messages in the chat after message id `after`."""
        return await self.wait_until(
            lambda: m if len(m := self.bot_messages(chat_id, after=after)) >= count else None,
            timeout=timeout,
        )

    async def wait_call(
        self, method: str, where: Callable[[dict], bool] = lambda p: True, *, timeout: float = 10
    ) -> ApiCall:
        """Wait for a successful call of `method` whose parameters satisfy `where`."""
        return await self.wait_until(
            lambda: next(
                (
                    c
                    for c in self.calls
                    if c.method == method and c.status == 200 and where(c.params)
                ),
                None,
            ),
            timeout=timeout,
        )

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    # ---------------------------------------------------------------- HTTP side
    async def _read_params(self, request: web.Request) -> dict:
        if request.content_type == "application/json":
            raw = await request.json() if request.can_read_body else {}
            return dict(raw)
        form = await request.post() if request.can_read_body else {}
        params: dict[str, Any] = dict(request.query)
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = value.file.read()
            elif key in _JSON_PARAMS:
                params[key] = json.loads(value)
            elif key in _INT_PARAMS:
                params[key] = int(value)
            else:
                params[key] = value
        for key in _INT_PARAMS & params.keys():
            if isinstance(params[key], str) and params[key].lstrip("-").isdigit():
                params[key] = int(params[key])
        return params

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._read_params(request)
        call = ApiCall(method, params)
        fault = self._faults[method].pop(0) if self._faults.get(method) else None
        if fault is not None and fault.kind == "drop":
            call.status, call.description = 0, "connection dropped"
            await self._record(call)
            assert request.transport is not None
            request.transport.abort()  # closed without an answer; the request is not handled
            return web.Response(status=500)  # never reaches the client
        try:
            if fault is not None and fault.kind in ("500", "502"):
                raise ApiError(int(fault.kind), f"{fault.kind} injected fault")
            retry_after = self._failures[method].pop(0) if self._failures.get(method) else 0
            if not retry_after and self.flood is not None:
                retry_after = self.flood.check(method, params.get("chat_id"))
            if retry_after:
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
            body: dict[str, Any] = {"ok": True, "result": result}
        except ApiError as exc:
            call.status, call.description = exc.code, exc.description
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        if fault is not None and fault.kind == "slow":
            call.description = f"answered after {fault.delay}s"
            await self._record(call)  # it happened now; only the answer is late
            await asyncio.sleep(fault.delay)
            return web.json_response(body, status=call.status)
        await self._record(call)
        return web.json_response(body, status=call.status)

    async def _record(self, call: ApiCall) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for stored_path, data, _size in self._files.values():
            if stored_path == path and data is not None:
                return web.Response(body=data)
        return web.Response(status=404)

    # ---------------------------------------------------------------- validation
    def _chat(self, params: dict) -> dict:
        chat_id = params.get("chat_id")
        if chat_id not in self._chats:
            raise bad_request("chat not found")
        return self._chats[chat_id]

    @staticmethod
    def _visible_text(params: dict, key: str = "text") -> str:
        text = params.get(key)
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        if params.get("parse_mode", "").lower() == "html":
            try:
                text = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(str(exc)) from None
        elif params.get("parse_mode"):
            raise bad_request(f"unsupported parse_mode {params['parse_mode']!r} in the stand-in")
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_MESSAGE_UTF16:
            raise bad_request("message is too long")
        return text

    @staticmethod
    def _check_markup(markup: dict | None) -> None:
        if not markup:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")

    # ---------------------------------------------------------------- methods
    async def _api_getme(self, params: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getupdates(self, params: dict) -> list[dict]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        timeout = float(params.get("timeout") or 0)
        self.ready.set()
        async with self._changed:
            if offset:  # confirming an offset forgets everything before it
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: bool(self._updates) or self._closing),
                    timeout=timeout,
                )
            return self._updates[:limit]

    async def _api_sendmessage(self, params: dict) -> dict:
        chat = self._chat(params)
        text = self._visible_text(params)
        self._check_markup(params.get("reply_markup"))
        fields: dict[str, Any] = {
            "text": text,
            "html": params["text"],
            **self._thread(chat, params),
        }
        reply = params.get("reply_parameters") or {}
        if reply.get("message_id"):
            target = self._messages.get((chat["id"], reply["message_id"]))
            if target is None and not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
            if target is not None:
                fields["reply_to_message"] = target
        if params.get("reply_markup"):
            fields["reply_markup"] = params["reply_markup"]
        return self._new_message(chat, self.bot_user, **fields)

    def _own_message(self, params: dict) -> dict:
        chat = self._chat(params)
        msg = self._messages.get((chat["id"], params.get("message_id")))
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return msg

    async def _api_editmessagetext(self, params: dict) -> dict:
        msg = self._own_message(params)
        text = self._visible_text(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if params["text"] == msg.get("html") and markup == msg.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.update(text=text, html=params["text"], edit_date=int(time.time()))
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        return msg

    async def _api_editmessagereplymarkup(self, params: dict) -> dict:
        msg = self._own_message(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        return msg

    async def _api_answercallbackquery(self, params: dict) -> bool:
        query_id = params.get("callback_query_id")
        if self._callbacks.get(query_id, True):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callbacks[query_id] = True
        return True

    async def _api_sendchataction(self, params: dict) -> bool:
        self._thread(self._chat(params), params)
        if params.get("action") not in {
            "typing", "upload_photo", "record_video", "upload_video", "record_voice",
            "upload_voice", "upload_document", "choose_sticker", "find_location",
            "record_video_note", "upload_video_note",
        }:  # fmt: skip
            raise bad_request("wrong parameter action in request")
        return True

    async def _api_setmycommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        for c in commands:
            if not _COMMAND.match(c.get("command", "")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[params.get("language_code", "")] = commands
        return True

    async def _api_getmycommands(self, params: dict) -> list[dict]:
        return self.commands.get(params.get("language_code", ""), [])

    async def _api_deletemycommands(self, params: dict) -> bool:
        self.commands.pop(params.get("language_code", ""), None)
        return True

    async def _api_getfile(self, params: dict) -> dict:
        file_id = params.get("file_id")
        if file_id not in self._files:
            raise bad_request("invalid file_id")
        path, _data, size = self._files[file_id]
        if size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": size,
                "file_path": path}  # fmt: skip

    async def _api_setwebhook(self, params: dict) -> bool:
        url = params.get("url", "")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        self.webhook = {"url": url, "secret_token": secret} if url else None
        self.ready.set()
        return True

    async def _api_deletewebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        return True

    async def _api_getwebhookinfo(self, params: dict) -> dict:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _api_senddocument(self, params: dict) -> dict:
        chat = self._chat(params)
        data = params.get("document")
        if not isinstance(data, bytes):
            raise bad_request("there is no document in the request")
        n = next(self._file_ids)
        self._files[f"OUT{n}"] = (f"documents/out_{n}", data, len(data))
        doc = {"file_id": f"OUT{n}", "file_unique_id": f"OUTU{n}", "file_size": len(data)}
        return self._new_message(chat, self.bot_user, document=doc)

    async def _api_close(self, params: dict) -> bool:
        return True

    async def _api_logout(self, params: dict) -> bool:
        return True
