"""Who may ask and who may manage documents."""

from __future__ import annotations

from dataclasses import dataclass

from qabot.config import Settings


@dataclass(frozen=True)
class Access:
    """Allow-lists of user and chat ids, and the admins.

    With both allow-lists empty the bot is open to everyone. Otherwise a question is accepted
    from a listed user (anywhere) or in a listed chat (from anyone in it). Admins may always ask,
    and only admins may add documents or rebuild the index (no admins: nobody may).
    """

    users: frozenset[int] = frozenset()
    chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        return cls(
            users=frozenset(settings.allowed_user_ids),
            chats=frozenset(settings.allowed_chat_ids),
            admins=frozenset(settings.admin_user_ids),
        )

    @property
    def is_open(self) -> bool:
        return not self.users and not self.chats

    def may_ask(self, user_id: int | None, chat_id: int | None) -> bool:
        if self.is_open or user_id in self.admins:
            return True
        return user_id in self.users or chat_id in self.chats

    def is_admin(self, user_id: int | None) -> bool:
        return user_id in self.admins
