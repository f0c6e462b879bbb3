"""The one error the Linux-like client raises: ClientError, something it could not do."""
from __future__ import annotations


class ClientError(Exception):
    """Something the client could not do (one line: what)."""
