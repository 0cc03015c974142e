"""Development only: a local SMTP server (aiosmtpd) on loopback that keeps every message it receives as a
file in a folder, where the development mail page (`/dev/mail`) reads them. `make run` starts it:

    python -m clinic.dev_mail_sink --port 8025 --folder .run/mail
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class FolderHandler:
    """Writes each message to `<folder>/<nanoseconds>.eml`, whole or not at all (a rename)."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}.eml"
        partial = self.folder / f".{name}.partial"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--folder", type=Path, default=Path("instance/dev-mail"))
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(FolderHandler(args.folder), hostname=args.host, port=args.port)
    controller.start()
    print(f"mail sink on {args.host}:{args.port}, keeping messages in {args.folder}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
