"""Development only: the mail the app sent, as the local sink (`clinic.dev_mail_sink`) received it, so the
person trying the app can open a confirmation or reset link. Never registered when CLINIC_ENV=production."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


@dataclass
class Received:
    id: int
    message: EmailMessage

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.id / 1e9, timezone.utc)

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain", "html"))
        return body.get_content() if body is not None else ""

    @property
    def attachments(self) -> list[str]:
        return [part.get_filename() or "attachment" for part in self.message.iter_attachments()]


def _folder() -> Path:
    return Path(current_app.config["DEV_MAIL_DIR"])


def _read(path: Path) -> Received:
    return Received(int(path.stem), message_from_bytes(path.read_bytes(), policy=policy.default))


@bp.get("")
def index():
    folder = _folder()
    paths = sorted(folder.glob("*.eml"), key=lambda p: int(p.stem), reverse=True) if folder.is_dir() else []
    return render_template("dev/mail.html", messages=[_read(p) for p in paths[:200]], folder=folder)


@bp.get("/<message_id>")  # a file's name (nanoseconds), beyond the ids `<int:>` routes accept
def show(message_id: str):
    path = _folder() / f"{message_id}.eml"
    if not (message_id.isascii() and message_id.isdigit()) or not path.is_file():
        abort(404)
    return render_template("dev/message.html", mail=_read(path))
