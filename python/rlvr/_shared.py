"""Helpers shared by the drop-ins: one engine per process, completion text, log-once."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._rlvr import Engine

_engine = None
_lock = threading.Lock()
_logged: set = set()
_logged_lock = threading.Lock()


def default_engine() -> Engine:
    """The engine the drop-ins share (built-in recipes, one scoring thread per core)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = Engine()
    return _engine


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string (standard), or a list of messages (conversational)
    whose last message's ``content`` is a string or a list of blocks (the text blocks are joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        message = completion[-1]
        content = message.get("content", "") if isinstance(message, dict) else message
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):
            parts = []
            for block in content:
                if isinstance(block, str):
                    parts.append(block)
                elif isinstance(block, dict) and block.get("type", "text") == "text":
                    parts.append(str(block.get("text", "")))
            return "".join(parts)
        return "" if content is None else str(content)
    return ""


def log_once(logger: logging.Logger, message: str) -> None:
    """Logs ``message`` as a warning the first time it is seen in this process."""
    with _logged_lock:
        if message in _logged:
            return
        _logged.add(message)
    logger.warning(message)
