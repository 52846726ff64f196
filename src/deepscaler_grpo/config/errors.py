"""The configuration's error type (its own module so every config module can raise it without importing another)."""

from __future__ import annotations

from deepscaler_grpo.errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration problem the user can fix; the message says how."""
