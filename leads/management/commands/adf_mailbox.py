"""Read ADF leads from email: an IMAP mailbox, or a folder of .eml files.

    manage.py adf_mailbox --folder /var/mail/adf [--rooftop lakeside-toyota]
    manage.py adf_mailbox --imap                   # ADF_IMAP_HOST, ADF_IMAP_USER, ADF_IMAP_PASSWORD,
                                                   # ADF_IMAP_FOLDER (INBOX), ADF_IMAP_PORT (993)

The rooftop is the one whose lead intake token appears in a recipient address (providers are given
`leads+<token>@...`), else --rooftop. The ADF is an XML attachment or the message body. Each message goes
through the same `adf_lead_accept` as HTTP, so the same lead by mail and by HTTP is one lead. Processed
files move to `processed/` beside them; files that could not be matched to a rooftop move to `failed/`.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.env import env_int, env_str
from leads.intake import MAX_ADF_BYTES, AdfUnreadable, adf_lead_accept
from rooftops.models import Rooftop

_XML_HINT = re.compile(rb"<\s*(\?adf|adf[\s>]|prospect[\s>])", re.IGNORECASE)


def adf_from_message(message: EmailMessage) -> bytes | None:
    """The ADF document of a mail: an XML-looking attachment first, then a body that holds ADF."""
    bodies: list[bytes] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        filename = (part.get_filename() or "").lower()
        content_type = part.get_content_type()
        is_attachment = part.get_content_disposition() == "attachment" or bool(filename)
        if is_attachment and (filename.endswith((".xml", ".adf", ".txt")) or "xml" in content_type):
            if _XML_HINT.search(payload[:65536]):
                return payload[: MAX_ADF_BYTES + 1]
        elif content_type in ("text/plain", "text/xml", "application/xml"):
            bodies.append(payload)
    for body in bodies:
        match = _XML_HINT.search(body)
        if match:
            # Mail clients put greetings before the document; start at the first ADF-looking tag or declaration.
            start = body.rfind(b"<?xml", 0, match.start())
            return body[start if start >= 0 else match.start():][: MAX_ADF_BYTES + 1]
    return None


def rooftop_for_message(message: EmailMessage, fallback: Rooftop | None) -> Rooftop | None:
    recipients = " ".join(str(message.get_all(h, [])) for h in ("To", "Cc", "Delivered-To", "X-Original-To"))
    for token in re.findall(r"[+]([A-Za-z0-9_\-]{8,64})@", recipients):
        rooftop = Rooftop.objects.filter(lead_intake_token=token).first()
        if rooftop:
            return rooftop
    return fallback


class Command(BaseCommand):
    help = "Read ADF leads from an IMAP mailbox or a folder of .eml files."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--folder", help="folder of .eml files; processed ones move to processed/")
        source.add_argument("--imap", action="store_true", help="read unseen mail from ADF_IMAP_* settings")
        parser.add_argument("--rooftop", help="rooftop slug when the recipient address carries no intake token")

    def handle(self, *args, folder=None, imap=False, rooftop=None, **options):
        fallback = None
        if rooftop:
            fallback = Rooftop.objects.filter(slug=rooftop).first()
            if fallback is None:
                raise CommandError(f"no rooftop with slug {rooftop!r}")
        counts = {"created": 0, "duplicate": 0, "needs_review": 0, "unreadable": 0, "skipped": 0}
        if folder:
            self._folder(Path(folder), fallback, counts)
        else:
            self._imap(fallback, counts)
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))

    def _accept(self, raw: bytes, fallback: Rooftop | None, counts: dict, label: str) -> bool:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        rooftop = rooftop_for_message(message, fallback)
        document = adf_from_message(message)
        if rooftop is None or document is None:
            counts["skipped"] += 1
            why = "no rooftop (no intake token in the recipients and no --rooftop)" if rooftop is None else "no ADF in it"
            self.stderr.write(f"{label}: skipped, {why}")
            return False
        if len(document) > MAX_ADF_BYTES:
            counts["skipped"] += 1
            self.stderr.write(f"{label}: skipped, the ADF is larger than 1 MB")
            return False
        try:
            result = adf_lead_accept(rooftop=rooftop, raw=document, received_via="email")
        except AdfUnreadable as exc:
            counts["unreadable"] += 1
            self.stderr.write(f"{label}: kept for review, {exc.reason}")
            return True
        counts[result.status] += 1
        self.stdout.write(f"{label}: {result.status} lead {result.lead.pk if result.lead else '-'}")
        return True

    def _folder(self, folder: Path, fallback: Rooftop | None, counts: dict) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        processed, failed = folder / "processed", folder / "failed"
        for path in sorted(folder.glob("*.eml")):
            if path.stat().st_size > 25 * MAX_ADF_BYTES:
                counts["skipped"] += 1
                failed.mkdir(exist_ok=True)
                path.rename(failed / path.name)
                continue
            ok = self._accept(path.read_bytes(), fallback, counts, path.name)
            target = processed if ok else failed
            target.mkdir(exist_ok=True)
            path.rename(target / path.name)

    def _imap(self, fallback: Rooftop | None, counts: dict) -> None:
        host = getattr(settings, "ADF_IMAP_HOST", "") or env_str("ADF_IMAP_HOST")
        user = getattr(settings, "ADF_IMAP_USER", "") or env_str("ADF_IMAP_USER")
        password = getattr(settings, "ADF_IMAP_PASSWORD", "") or env_str("ADF_IMAP_PASSWORD")
        mailbox = getattr(settings, "ADF_IMAP_FOLDER", "") or env_str("ADF_IMAP_FOLDER", "INBOX")
        port = getattr(settings, "ADF_IMAP_PORT", 0) or env_int("ADF_IMAP_PORT", 993)
        if not (host and user and password):
            raise CommandError("set ADF_IMAP_HOST, ADF_IMAP_USER and ADF_IMAP_PASSWORD")
        client = imaplib.IMAP4_SSL(host, port) if port == 993 else imaplib.IMAP4(host, port)
        try:
            client.login(user, password)
            client.select(mailbox)
            _, data = client.search(None, "UNSEEN")
            for number in data[0].split():
                _, parts = client.fetch(number, "(BODY.PEEK[])")
                raw = parts[0][1] if parts and isinstance(parts[0], tuple) else b""
                if self._accept(raw, fallback, counts, f"message {number.decode()}"):
                    client.store(number, "+FLAGS", "\\Seen")
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the work is done; a failed goodbye changes nothing
                pass
