"""The PDF engine: billing documents as HTML, then PDF through pdfkit over wkhtmltopdf.

The one module that imports pdfkit. Documents are fed plain data (frozen dataclasses), never ORM objects,
and user text (names, addresses) reaches them, so the engine is hardened:

- Templates (`templates/billing/pdf/`) render in a sandboxed Jinja environment with autoescape on: a name
  holding markup prints as text. Stylesheets are inlined, so a document needs no file and no network.
- wkhtmltopdf runs with JavaScript off, local file access off, and every request routed to a proxy that
  does not exist (`127.0.0.1:9`, refused at once): `--disable-local-file-access` alone still fetches
  `http://` URLs.
- Nothing from the user reaches its command line: the HTML goes through stdin (a private temporary
  directory for batches), and the title comes from the template.
- A time limit: on overrun the engine's whole process group is killed.
- At most `MAX_RENDERS` engines at once per process (a semaphore). Each worker process (gunicorn -w N, every
  batch worker) has its own, so a host runs at most `MAX_RENDERS` x its number of processes.

A missing, failing or overrunning engine raises `PdfUnavailable` (503 with the standard error shape); the
caller's transaction rolls back, so nothing is lost and the download can be tried again.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pdfkit
from flask import current_app, has_app_context
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from clinic import formatting
from clinic.errors import DomainError

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "billing" / "pdf"
MAX_RENDERS = 2
TIME_LIMIT = 30.0  # seconds for one document; `PDF_TIME_LIMIT` in the app's config overrides it
BATCH_SECONDS_PER_DOCUMENT = 2.0
NO_PROXY_HERE = "http://127.0.0.1:9"  # the discard port: nothing listens, so every request is refused at once
OPTIONS = {
    "--page-size": "Letter",
    "--margin-top": "0.5in", "--margin-bottom": "0.5in", "--margin-left": "0.6in", "--margin-right": "0.6in",
    "--encoding": "UTF-8",
    "--disable-javascript": "",
    # wkhtmltopdf waits 200 ms after loading for scripts by default, scripts that cannot run here: four
    # times the whole render of a receipt.
    "--javascript-delay": "0",
    "--disable-local-file-access": "",
    "--proxy": NO_PROXY_HERE,
    # A resource refused by the rules above is left out rather than failing the document; batches
    # (--read-args-from-stdin) could not report it per document anyway.
    "--load-error-handling": "ignore",
    "--load-media-error-handling": "ignore",
}

_slots = threading.BoundedSemaphore(MAX_RENDERS)


class PdfUnavailable(DomainError):
    """The PDF engine is missing, failed or ran over its time limit. Nothing was changed."""

    status, code = 503, "pdf_unavailable"

    def __init__(self, message: str = "We could not make this PDF just now. Nothing was lost; please try "
                                      "again in a few minutes.", **kwargs):
        super().__init__(message, **kwargs)


# --- HTML -------------------------------------------------------------------------------------------------------

@cache
def _jinja() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
    # Documents read dates without the weekday ('March 17, 2027'); a superbill's dates as claims want them.
    env.filters.update(money=formatting.money, us_date=lambda day: formatting.long_date(day, weekday=False),
                       mmddyyyy=formatting.numeric_date)
    return env


def html_for(template: str, **context) -> str:
    """The document's HTML, user text escaped; `template` names a file in templates/billing/pdf/."""
    return _jinja().get_template(template).render(**context)


# --- the engine -------------------------------------------------------------------------------------------------

def html_to_pdf(html: str, *, time_limit: float | None = None) -> bytes:
    """One HTML document (through stdin) to PDF bytes. Raises PdfUnavailable."""
    return _convert(_command(), html, time_limit or _time_limit())


def _convert(command: list[str], html: str, limit: float) -> bytes:
    returncode, out, err = _run(command, html.encode(), limit)
    if not _is_pdf(out):
        log.error("wkhtmltopdf exited %s without a PDF: %s", returncode, err.decode(errors="replace")[-500:])
        raise PdfUnavailable()
    if returncode:
        # It exits 1 after a whole PDF when it refused a resource (a file, a URL): the refusal is the point.
        log.warning("wkhtmltopdf exited %s: %s", returncode, err.decode(errors="replace")[-500:])
    return out


def html_to_pdfs(htmls: Sequence[str], *, time_limit: float | None = None) -> list[bytes | PdfUnavailable]:
    """Many documents, spread over the cores: one engine per share, each converting its documents in turn
    (`--read-args-from-stdin`), so an engine starts once per share rather than once per document.

    Returns, in order, each PDF or the PdfUnavailable it met: one document failing does not stop the
    others. Raises PdfUnavailable only when there is no engine at all."""
    if not htmls:
        return []
    command, limit = _command(), time_limit or _time_limit()
    shares = _shares(list(enumerate(htmls)), min(MAX_RENDERS, os.cpu_count() or 1))
    results: dict[int, bytes | PdfUnavailable] = {}
    with ThreadPoolExecutor(len(shares)) as pool:
        for done in pool.map(lambda share: _convert_share(command, share, limit), shares):
            results.update(done)
    return [results[index] for index in range(len(htmls))]


def _shares(items: list, count: int) -> list[list]:
    size = -(-len(items) // count)
    return [items[start:start + size] for start in range(0, len(items), size)]


def _convert_share(command: list[str], share: list[tuple[int, str]], limit: float) -> dict[int, bytes | PdfUnavailable]:
    with tempfile.TemporaryDirectory(prefix="clinic-pdf-") as directory:
        folder = Path(directory)
        for index, html in share:
            (folder / f"{index}.html").write_text(html, encoding="utf-8")
        # One line of arguments per document; pdfkit's command ends "- -" (stdin, stdout): not wanted here.
        lines = "".join(f"{index}.html {index}.pdf\n" for index, _ in share).encode()
        try:
            _run(command[:-2] + ["--read-args-from-stdin"], lines, limit + BATCH_SECONDS_PER_DOCUMENT * len(share),
                 cwd=folder)
        except PdfUnavailable:
            log.warning("a batch of %d documents failed; converting what is missing one by one", len(share))
        return {index: _read_or_retry(command, folder / f"{index}.pdf", html, limit) for index, html in share}


def _read_or_retry(command: list[str], path: Path, html: str, limit: float) -> bytes | PdfUnavailable:
    made = path.read_bytes() if path.exists() else b""
    if _is_pdf(made):
        return made
    try:
        return _convert(command, html, limit)
    except PdfUnavailable as error:
        return error


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


def _command() -> list[str]:
    """wkhtmltopdf's command line as pdfkit builds it, ending `- -` (HTML on stdin, PDF on stdout)."""
    path = _setting("WKHTMLTOPDF") or shutil.which("wkhtmltopdf")
    if not path:
        log.error("wkhtmltopdf is not installed (set WKHTMLTOPDF or put it on PATH)")
        raise PdfUnavailable()
    try:
        configuration = pdfkit.configuration(wkhtmltopdf=path, environ=_environment())
    except OSError as error:
        log.error("wkhtmltopdf not usable at %s: %s", path, error)
        raise PdfUnavailable() from error
    # An empty source: pdfkit reads extra options from <meta name="pdfkit-..."> tags in its source, and the
    # real HTML, which carries user text, must never reach the command line.
    return pdfkit.PDFKit("", "string", options=OPTIONS, configuration=configuration).command()


def _run(command: list[str], stdin: bytes, limit: float, cwd: Path | None = None) -> tuple[int, bytes, bytes]:
    """Run the engine in its own process group within `limit` seconds; kill the whole group on overrun."""
    with _slot(limit):
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=_environment(), cwd=cwd, start_new_session=True)
        except OSError as error:
            log.error("wkhtmltopdf could not start: %s", error)
            raise PdfUnavailable() from error
        try:
            out, err = process.communicate(stdin, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill(process)
            log.error("wkhtmltopdf ran over its %.0f s limit and was killed", limit)
            raise PdfUnavailable() from None
        except BaseException:
            _kill(process)
            raise
    return process.returncode, out, err


def _kill(process: subprocess.Popen) -> None:
    # The group, not just the process: a wrapper script's children would keep the pipes open.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


@contextmanager
def _slot(limit: float):
    if not _slots.acquire(timeout=limit):
        log.error("no PDF render slot freed within %.0f s", limit)
        raise PdfUnavailable()
    try:
        yield
    finally:
        _slots.release()


def _runtime_directory() -> str:
    path = _private_directory()
    if not os.path.isdir(path):  # swept away by a temporary-files cleaner: make another
        _private_directory.cache_clear()
        path = _private_directory()
    return path


@cache
def _private_directory() -> str:
    return tempfile.mkdtemp(prefix="clinic-wkhtmltopdf-")  # 0700; Qt wants an XDG_RUNTIME_DIR and warns otherwise


def _environment() -> dict[str, str]:
    """Only what the engine needs: no proxy variables, no secrets from the app's environment."""
    names = ("PATH", "HOME", "TMPDIR", "QT_QPA_PLATFORM", "FONTCONFIG_FILE", "FONTCONFIG_PATH")
    keep = {name: os.environ[name] for name in names if name in os.environ}
    return {**keep, "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": _runtime_directory()}


def _setting(name: str) -> str | None:
    if has_app_context():
        return current_app.config.get(name)
    return os.environ.get(name)


def _time_limit() -> float:
    return float(current_app.config.get("PDF_TIME_LIMIT", TIME_LIMIT)) if has_app_context() else TIME_LIMIT
