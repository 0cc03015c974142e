"""The PDF engine (billing/pdf.py) with the real wkhtmltopdf: user text prints as text, the engine reads no
file, calls no server and runs no script; failures become PdfUnavailable; a time limit; two renders at once."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from billing import pdf
from billing.documents import superbill_html, superbill_pdf
from billing.pdf import PdfUnavailable, html_to_pdf, html_to_pdfs
from tests.billing.factories import a_superbill, pdf_info, pdf_text

pytestmark = pytest.mark.skipif(not shutil.which("wkhtmltopdf") or not shutil.which("pdftotext"),
                                reason="needs wkhtmltopdf and poppler-utils (make system-packages)")

SECRET_FILE_LINE = "root:x:0:0"  # the first line of /etc/passwd


@pytest.fixture
def web_server():
    """A real HTTP server on this machine that records every request it gets."""
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def squashed(text: str) -> str:
    return "".join(text.split())


def engine_script(folder: Path, body: str) -> str:
    """A stand-in engine: a shell script with `body`, for the failures the real one seldom shows."""
    path = folder / "fake-wkhtmltopdf"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


FAKE_PDF = "printf '%%PDF-1.4\\n%%%%EOF\\n'\n"


def test_accented_names_and_apostrophes_print_as_written_in_an_embedded_font(tmp_path):
    superbill = a_superbill(patient_name="Zoë Ñúñez-O'Brien", patient_address="45 Rue d'Élan, Apt 2\nSpringfield, MA 01103")

    document = superbill_pdf(superbill)

    text = pdf_text(document, tmp_path)
    assert "Zoë Ñúñez-O'Brien" in text
    assert "45 Rue d'Élan, Apt 2 Springfield, MA 01103" in text
    fonts = pdf_info(document, tmp_path, "pdffonts")
    assert "DejaVuSans" in fonts and "Type 3" not in fonts


def test_markup_in_a_patient_name_prints_as_text_reads_no_file_and_calls_no_server(tmp_path, web_server):
    url, requests = web_server
    name = f'<iframe src="file:///etc/passwd"></iframe><img src="{url}/x.png"><script>document.write("RAN")</script>'
    address = f'<link rel="stylesheet" href="{url}/style.css">12 Elm Street'

    text = pdf_text(superbill_pdf(a_superbill(patient_name=name, patient_address=address)), tmp_path)

    assert squashed(name) in squashed(text)  # the engine breaks long words across lines
    assert squashed(address) in squashed(text)
    assert SECRET_FILE_LINE not in text
    assert requests == []


def test_the_engine_itself_reads_no_file_runs_no_script_and_calls_no_server(tmp_path, web_server):
    """Defence in depth, for markup that escaping did not stop: raw HTML straight to the engine."""
    url, requests = web_server
    html = (f'<p>start</p><iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>'
            f'<img src="{url}/plain.png"><img src="{url.replace("http", "https")}/tls.png">'
            f'<link rel="stylesheet" href="{url}/style.css"><script>document.write("SCRIPT RAN")</script><p>end</p>')

    text = pdf_text(html_to_pdf(html), tmp_path)

    assert "start" in text and "end" in text
    assert SECRET_FILE_LINE not in text
    assert "SCRIPT RAN" not in text
    assert requests == []


def test_a_batch_is_as_locked_down_as_one_document(tmp_path, web_server):
    url, requests = web_server
    html = f'<p>batch</p><iframe src="file:///etc/passwd"></iframe><img src="{url}/batch.png">'

    documents = html_to_pdfs([html, html, html])

    assert all(SECRET_FILE_LINE not in pdf_text(document, tmp_path) for document in documents)
    assert requests == []


def test_without_the_dead_proxy_wkhtmltopdf_would_call_the_server(tmp_path, web_server):
    """Why pdf.py routes the engine to a proxy that does not exist: local file access off is not enough."""
    url, requests = web_server
    page = tmp_path / "page.html"
    page.write_text(f'<p>x</p><img src="{url}/leak.png">')

    subprocess.run(["wkhtmltopdf", "--quiet", "--disable-local-file-access", "--javascript-delay", "0",
                    str(page), str(tmp_path / "out.pdf")], capture_output=True, timeout=60)

    assert "/leak.png" in requests


def test_documents_are_us_letter(tmp_path):
    info = pdf_info(html_to_pdf("<p>one line</p>"), tmp_path)
    assert "612 x 792 pts (letter)" in info


def test_no_user_text_reaches_the_command_line_and_the_hardening_flags_do(tmp_path, monkeypatch):
    engine = engine_script(tmp_path, f'printf "%s\\n" "$@" > {tmp_path}/args\ncat > {tmp_path}/stdin\n{FAKE_PDF}')
    monkeypatch.setenv("WKHTMLTOPDF", engine)

    superbill_pdf(a_superbill(patient_name="Quinn Marlowe-Tashi"))

    args = (tmp_path / "args").read_text().split("\n")
    assert "Quinn Marlowe-Tashi" in (tmp_path / "stdin").read_text()
    assert not any("Quinn" in arg for arg in args)
    for flag in ("--disable-javascript", "--disable-local-file-access", "--quiet"):
        assert flag in args
    assert args[args.index("--proxy") + 1] == "http://127.0.0.1:9"
    assert args[args.index("--page-size") + 1] == "Letter"
    assert args[-3:-1] == ["-", "-"]  # HTML on stdin, PDF on stdout


def test_the_dead_proxy_refuses_at_once(tmp_path, web_server):
    url, _ = web_server
    started = time.monotonic()
    html_to_pdf("".join(f'<img src="{url}/{n}.png">' for n in range(20)))
    assert time.monotonic() - started < 5


def test_a_missing_engine_is_a_domain_error_with_a_sentence(monkeypatch):
    monkeypatch.setenv("WKHTMLTOPDF", "/nonexistent/wkhtmltopdf")

    with pytest.raises(PdfUnavailable) as raised:
        superbill_pdf(a_superbill())

    assert raised.value.status == 503
    assert raised.value.to_dict()["error"]["code"] == "pdf_unavailable"
    assert "try again" in raised.value.message


def test_the_app_setting_names_the_engine(app):
    app.config["WKHTMLTOPDF"] = "/nonexistent/wkhtmltopdf"
    with app.app_context(), pytest.raises(PdfUnavailable):
        html_to_pdf("<p>x</p>")


def test_a_view_answers_503_in_the_standard_shape_when_the_engine_is_missing(app, client):
    app.config["WKHTMLTOPDF"] = "/nonexistent/wkhtmltopdf"
    app.add_url_rule("/api/v1/test-pdf", "test_pdf", lambda: superbill_pdf(a_superbill()))

    response = client.get("/api/v1/test-pdf")

    assert response.status_code == 503
    assert response.json["error"]["code"] == "pdf_unavailable"
    assert response.json["error"]["message"].endswith("please try again in a few minutes.")
    assert response.json["error"]["fields"] == {}


@pytest.mark.parametrize("body", ["echo 'wkhtmltopdf: cannot render' >&2; exit 1\n",
                                  "cat > /dev/null; echo 'not a PDF'\n",
                                  "kill -SEGV $$\n"])
def test_a_failing_engine_is_a_domain_error(tmp_path, monkeypatch, body):
    monkeypatch.setenv("WKHTMLTOPDF", engine_script(tmp_path, body))
    with pytest.raises(PdfUnavailable):
        html_to_pdf("<p>x</p>")


def test_an_engine_that_hangs_is_killed_with_everything_it_started(tmp_path, monkeypatch):
    pid_file = tmp_path / "child.pid"
    monkeypatch.setenv("WKHTMLTOPDF", engine_script(tmp_path, f"sleep 60 &\necho $! > {pid_file}\nwait\n"))

    started = time.monotonic()
    with pytest.raises(PdfUnavailable):
        html_to_pdf("<p>x</p>", time_limit=1)

    assert time.monotonic() - started < 5
    assert not _running(int(pid_file.read_text()))


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    for _ in range(50):  # the orphan is killed at once; its reaping by init may take a moment
        if not status.exists() or "State:\tZ" in status.read_text():
            return False
        time.sleep(0.05)
    return True


def test_at_most_two_renders_run_at_once(tmp_path, monkeypatch):
    log = tmp_path / "runs"
    body = f"echo start >> {log}\nsleep 0.3\necho stop >> {log}\ncat > /dev/null\n{FAKE_PDF}"
    monkeypatch.setenv("WKHTMLTOPDF", engine_script(tmp_path, body))

    threads = [threading.Thread(target=html_to_pdf, args=("<p>x</p>",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    running, most = 0, 0
    for event in log.read_text().split():
        running += 1 if event == "start" else -1
        most = max(most, running)
    assert most == pdf.MAX_RENDERS == 2
    assert log.read_text().split().count("stop") == 6


def test_a_batch_renders_every_document_in_order(tmp_path):
    names = [f"Patient Number {n}" for n in range(5)]
    superbills = [a_superbill(patient_name=name) for name in names]

    documents = html_to_pdfs([superbill_html(superbill) for superbill in superbills])

    assert [name in pdf_text(document, tmp_path) for document, name in zip(documents, names)] == [True] * 5


def test_a_batch_whose_engine_fails_converts_each_document_alone(tmp_path, monkeypatch):
    body = f'case "$*" in *--read-args-from-stdin*) exit 1;; esac\ncat > /dev/null\n{FAKE_PDF}'
    monkeypatch.setenv("WKHTMLTOPDF", engine_script(tmp_path, body))

    documents = html_to_pdfs(["<p>a</p>", "<p>b</p>", "<p>c</p>"])

    assert all(isinstance(document, bytes) and document.startswith(b"%PDF") for document in documents)


def test_a_batch_lists_the_documents_that_failed_and_keeps_the_others(tmp_path, monkeypatch):
    body = (f'case "$*" in *--read-args-from-stdin*) exit 1;; esac\n'
            f'if grep -q broken; then exit 1; fi\n{FAKE_PDF}')
    monkeypatch.setenv("WKHTMLTOPDF", engine_script(tmp_path, body))

    documents = html_to_pdfs(["<p>good</p>", "<p>broken</p>", "<p>good</p>"])

    assert [type(document) for document in documents] == [bytes, PdfUnavailable, bytes]


def test_a_batch_without_an_engine_raises(monkeypatch):
    monkeypatch.setenv("WKHTMLTOPDF", "/nonexistent/wkhtmltopdf")
    with pytest.raises(PdfUnavailable):
        html_to_pdfs(["<p>x</p>"])

