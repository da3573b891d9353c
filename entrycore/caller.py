"""Who is calling: the token's subject and role, and where the request came from."""

from __future__ import annotations

import attrs

from entrycore.errors import Forbidden
from entrycore.model import Origin


@attrs.frozen
class Caller:
    user_id: str
    is_supreme: bool = False
    authorization: str | None = attrs.field(default=None, repr=False)  # forwarded to other services
    origin: Origin | None = None

    def require_supreme(self) -> None:
        """Admin operations need ``isSupreme`` (SPEC AUTH-002)."""
        if not self.is_supreme:
            raise Forbidden("This operation needs an administrator (supreme) token.")

    def require_self_or_supreme(self, user_id: str) -> None:
        """A fan acts on their own data only; administrators on anyone's (SPEC AUTH-001, USR-001)."""
        if not self.is_supreme and self.user_id != user_id:
            raise Forbidden("You may only act on your own data.")
