"""Starts localstripe (the local Stripe emulator) on loopback only, with a fresh in-memory store.

Its own CLI listens on every interface and reloads a pickled store from /tmp, which would leak data
between runs; here its aiohttp app is served on 127.0.0.1 and the store is never written to disk.
Run: `python -m billing.localstripe_server --port 8420`.
"""
from __future__ import annotations

import argparse

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    resources.store.clear()
    resources.store.dump_to_disk = lambda: None
    web.run_app(server.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
