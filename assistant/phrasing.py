"""Optional: a language model rephrases the engine's reply. Decisions, data and bookings stay in the engine.

Configured by ASSISTANT_LLM_BASE_URL (an OpenAI-compatible API root), ASSISTANT_LLM_API_KEY, ASSISTANT_LLM_MODEL
and ASSISTANT_LLM_TIMEOUT_SECONDS (default 2). The model is given only the engine's reply and the shopper's
message — never records — and its answer is used only when it arrives in time and is not empty; on any error,
timeout or odd answer the engine's own text is what the shopper reads.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)

INSTRUCTIONS = ("You rephrase a car dealership assistant's reply to sound warm and natural. Keep every fact, "
                "number, time, price, link and question exactly as given; add no facts, offers or promises. "
                "Answer with the reply only.")
MAX_ANSWER = 1200


def _settings() -> tuple[str, str, str, float] | None:
    base = os.environ.get("ASSISTANT_LLM_BASE_URL", "").strip()
    if not base:
        return None
    try:
        timeout = float(os.environ.get("ASSISTANT_LLM_TIMEOUT_SECONDS", "2") or 2)
    except ValueError:
        timeout = 2.0
    return (base.rstrip("/"), os.environ.get("ASSISTANT_LLM_API_KEY", ""),
            os.environ.get("ASSISTANT_LLM_MODEL", "gpt-4o-mini"), max(0.1, min(timeout, 10.0)))


def rephrase(reply: str, *, shopper_message: str) -> str:
    """The model's wording of `reply`, or `reply` itself when no model is configured or it fails."""
    config = _settings()
    if config is None or not reply:
        return reply
    base, key, model, timeout = config
    body = json.dumps({"model": model, "temperature": 0.3, "max_tokens": 300, "messages": [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"Shopper wrote: {shopper_message[:500]}\n\nReply to rephrase: {reply}"},
    ]}).encode()
    request = urllib.request.Request(f"{base}/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {key}"} if key else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            answer = json.loads(response.read(65536))
        text = answer["choices"][0]["message"]["content"]
    except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError) as exc:
        logger.info("assistant phrasing fell back to the engine's reply: %s", exc)
        return reply
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_ANSWER:
        return reply
    return text.strip()
