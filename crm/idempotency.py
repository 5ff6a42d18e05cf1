"""`Idempotency-Key` for every API POST: a retried request answers the first result and writes nothing twice.

Installed once, by `IdempotentPostMixin` in the bases of every staff API view (`crm.api`), around the handler:

- The key belongs to the caller (user, and token or none for a session), the method and the path.
- The first request inserts the key's row before its handler runs, in one transaction with the handler's
  writes; a concurrent duplicate's insert waits on the unique index until that commits, then finds the row and
  is answered from it (or, if the first failed and rolled back, runs itself). A retry after commit is answered
  from the row: the stored status and body, with `Idempotent-Replayed: true`.
- The same key with a different body is 422 saying so; a key that is not 1–255 printable characters is 400.
- An answer of 500 or more is not kept (its transaction is rolled back), so the retry runs again.
- Keys live 24 hours: an expired key is replaced when it is used again, and a beat task purges the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from rooftops.models import ApiToken, IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def body_digest(request) -> str:
    """sha256 of the body as sent; of the parsed form when Django already read a multipart body's stream. A file
    upload (a DMS export of hundreds of megabytes) is parsed to disk first and hashed from there in chunks:
    reading it as one body would hold it all in memory."""
    if request.content_type.startswith("multipart/"):
        digest = hashlib.sha256(json.dumps(sorted(request.data.lists()) if hasattr(request.data, "lists") else
                                           sorted(request.data.items()), cls=JSONEncoder, default=str).encode())
        for name, upload in sorted(request.FILES.items()):
            digest.update(f"\0{name}\0{upload.name}\0{upload.size}\0".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        return digest.hexdigest()
    try:
        body = request._request.body
    except RawPostDataException:
        body = json.dumps(request.data, cls=JSONEncoder, sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()


def _claim(*, user_id: int, token_id: int | None, method: str, path: str, key: str, digest: str,
           now: datetime) -> tuple[IdempotencyKey, bool]:
    """The key's row, locked, and whether this request made it (and so runs the handler)."""
    mine = IdempotencyKey.objects.filter(user_id=user_id, token_id=token_id, method=method, path=path, key=key)
    mine.filter(created_at__lt=now - LIFETIME).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {IdempotencyKey._meta.db_table}
                (user_id, token_id, method, path, key, body_sha256, status_code, response_body, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, %s)
            ON CONFLICT ON CONSTRAINT idempotency_key_once_per_caller DO NOTHING
            RETURNING id
            """,
            [user_id, token_id, method, path, key, digest, now],
        )
        made = cursor.fetchone()
    if made:
        return IdempotencyKey(pk=made[0], user_id=user_id, token_id=token_id, method=method, path=path, key=key,
                              body_sha256=digest, created_at=now), True
    return mine.select_for_update().get(), False


def _replay(record: IdempotencyKey, digest: str) -> Response:
    if record.body_sha256 != digest:
        return Response(
            {"detail": f"This {HEADER} was used for a request with a different body; use a new key for a new "
                       "request, or resend exactly the first body to get its answer."},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record.status_code is None:  # cannot be seen from another transaction; kept as a guard
        return Response({"detail": f"The request with this {HEADER} is still running; retry in a moment."},
                        status=status.HTTP_409_CONFLICT)
    return Response(record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"})


def _stored_body(response: Response):
    data = getattr(response, "data", None)
    return None if data is None else json.loads(json.dumps(data, cls=JSONEncoder))


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than their 24 hours (beat)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now - LIFETIME).delete()
    return deleted


class IdempotentPostMixin:
    """POSTs carrying an `Idempotency-Key` are answered once; mixed into the staff API's base classes only."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        handler = getattr(self, "post", None)
        if request.method == "POST" and HEADER in request.headers and handler is not None:
            key = request.headers[HEADER]
            if not _VALID_KEY.fullmatch(key):
                raise ValidationError({HEADER: [f"{HEADER} must be 1 to 255 printable characters without spaces."]})
            self.post = lambda req, *a, **kw: self._post_once(handler, key, req, *a, **kw)

    def _post_once(self, handler, key: str, request, *args, **kwargs):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        digest = body_digest(request)
        now = timezone.now()
        with transaction.atomic():
            record, made = _claim(user_id=request.user.pk, token_id=token.pk if token else None,
                                  method=request.method, path=request.path[:300], key=key, digest=digest, now=now)
            if not made:
                return _replay(record, digest)
            try:
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - answered as DRF would; a 500 still propagates
                response = self.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            IdempotencyKey.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=_stored_body(response))
        return response
