"""Starts localstripe (the local Stripe emulator) on loopback only, with a fresh in-memory store.

Its own CLI listens on every interface and reloads a pickled store from /tmp, which would leak data
between runs; here its aiohttp app is served on 127.0.0.1 and the store is never written to disk.
Run: `python -m billing.localstripe_server --port 8420`; once it listens,
`python -m billing.localstripe_server --port 8420 --register-webhook http://127.0.0.1:5000/webhooks/stripe`
tells it where to post events, signed with STRIPE_WEBHOOK_SECRET (default `whsec_localstripe`, as the app's).
"""
from __future__ import annotations

import argparse
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--register-webhook", metavar="URL")
    args = parser.parse_args()
    if args.register_webhook:
        register_webhook(f"http://{args.host}:{args.port}", args.register_webhook)
        return
    resources.store.clear()
    resources.store.dump_to_disk = lambda: None
    web.run_app(server.app, host=args.host, port=args.port, print=None)


def register_webhook(base: str, url: str, seconds: float = 15) -> None:
    """Wait for the emulator, then register the app's webhook with it (`POST /_config/webhooks/<id>`)."""
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
    body = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{base}/_config/webhooks/clinic", data=body, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise SystemExit(f"the Stripe emulator at {base} did not answer")
            time.sleep(0.2)


if __name__ == "__main__":
    main()
