"""`mastery-site serve`: the site from memory over HTTP, reloading itself after edits.

Pages are stored exactly as `build` writes them; only responses get a small
client appended: it listens to Server-Sent Events, reloads after a successful
rebuild (keeping the scroll position) and, while the content has errors, shows
them in an overlay over the last good page. Requests are looked up in the
in-memory site, so no URL can reach a file outside it.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
import signal
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import collector
from .build import Options
from .diagnostics import BuildError
from .rebuild import Engine, Outcome, State, Watcher

EVENTS = "/__mastery/events"
SWITCH_INTERVAL = 0.0005  # s: a request waits this long, not 5 ms, for the background pass to yield
CLIENT = """<script>(function () {
  "use strict";
  var state = %s, key = "mastery-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) { sessionStorage.removeItem(key); window.scrollTo(0, +saved); }
  function overlay(errors) {
    var old = document.getElementById("mastery-overlay");
    if (old) old.remove();
    if (!errors.length) return;
    var box = document.createElement("div"), pre = document.createElement("pre"), h = document.createElement("p");
    box.id = "mastery-overlay";
    box.setAttribute("role", "alert");
    box.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;" +
      "background:#2b0d0f;color:#ffd7d9;font:14px/1.5 ui-monospace,monospace;padding:1rem 1.25rem;" +
      "border-top:4px solid #ff5c64";
    h.textContent = "mastery-site: the content has errors; showing the last good build.";
    h.style.cssText = "margin:0 0 .5rem;font-weight:bold";
    pre.textContent = errors.join("\\n");
    pre.style.cssText = "margin:0;white-space:pre-wrap";
    box.appendChild(h); box.appendChild(pre);
    document.body.appendChild(box);
  }
  overlay(state.errors);
  var source = new EventSource("%s");
  source.onmessage = function (message) {
    var next = JSON.parse(message.data);
    if (next.errors.length) { overlay(next.errors); return; }
    if (next.site !== state.site || state.errors.length) {
      sessionStorage.setItem(key, String(window.scrollY));
      source.close();
      location.reload();
    }
  };
})();</script>"""


def status(state: State) -> dict:
    """What clients need: which site they show, and the errors to overlay."""
    return {"site": state.site, "errors": [str(d) for d in state.errors]}


class Handler(BaseHTTPRequestHandler):
    engine: Engine  # set on the subclass made per server
    server_version = "mastery-site"

    def log_message(self, format: str, *args) -> None:  # quiet: the terminal shows rebuilds
        return

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _not_allowed(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _respond(self, body: bool) -> None:
        path, query = urlsplit(self.path)[2:4]
        if path == EVENTS:
            return self._events(query) if body else self._send(200, b"", "text/event-stream")
        state = self.engine.state
        key = site_key(path)
        if key is None or key not in state.files:
            if key is not None and f"{key}/index.html" in state.files:
                return self._redirect(path + "/")
            return self._send(404, self._inject(self._read(state.files.get("404.html", b"Not found")), state),
                              "text/html; charset=utf-8", body)
        try:
            data = self._read(state.files[key])
        except BuildError as exc:  # a template fails on this page: the background pass will publish it too
            errors = State(state.generation, state.site, {}, exc.diagnostics.sorted())
            return self._send(500, self._inject(b"<!doctype html><title>Template error</title><body></body>", errors),
                              "text/html; charset=utf-8", body)
        kind = content_type(key)
        if kind.startswith("text/html"):
            data = self._inject(data, state)
        self._send(200, data, kind, body)

    def _read(self, value: bytes | Path) -> bytes:
        return value.read_bytes() if isinstance(value, Path) else value

    def _inject(self, data: bytes, state: State) -> bytes:
        events = f"{EVENTS}?since={state.generation}"  # the rebuild the page shows (see _events)
        client = (CLIENT % (json.dumps(status(state)).replace("<", "\\u003c"), events)).encode()
        at = data.rfind(b"</body>")
        return data[:at] + client + data[at:] if at >= 0 else data + client

    def _send(self, code: int, data: bytes, kind: str, body: bool = True) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _events(self, query: str) -> None:
        """A Server-Sent Events stream: one message per rebuild, until the client or server leaves.
        From the rebuild the page shows (`since=`, see _inject): one published before the stream
        was open is announced at once (a page reloaded just before an edit broke the content
        showed no overlay)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        engine = self.engine
        since = parse_qs(query).get("since", [""])[0]
        seen = int(since) if since.isdigit() else engine.state.generation
        try:
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while not engine.closing:
                engine.wait_for_change(seen, timeout=15)
                state = engine.state
                if state.generation == seen:
                    self.wfile.write(b": keep-alive\n\n")  # notices clients that went away
                else:
                    seen = state.generation
                    self.wfile.write(f"data: {json.dumps(status(state))}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


def site_key(path: str) -> str | None:
    """The site file a URL path names, or None for anything that tries to leave the site."""
    decoded = unquote(path)
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    key = posixpath.join(*parts) if parts else ""
    return f"{key}/index.html".lstrip("/") if decoded.endswith("/") or not key else key


def content_type(key: str) -> str:
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in ("application/json",
                                                                            "application/javascript") else kind


def serve(root: Path, options: Options, host: str, port: int, open_browser: bool, out=sys.stdout) -> int:
    engine = Engine(root, options)
    if host not in ("127.0.0.1", "localhost", "::1") and options.audience != "public":
        print(f"WARNING: serving the {options.audience} edition on {host}: anyone who can reach this address "
              "can read it. Use --host 127.0.0.1 or --audience public.", file=sys.stderr)
    first = engine.rebuild()  # the only rebuild that may fork workers: no thread is running yet
    engine.options.jobs = 1
    completed = engine.complete()  # the whole first site, so template errors show at once
    collector.settle()
    report(completed if completed is not None and not completed.ok else first, engine.state, out)
    sys.setswitchinterval(SWITCH_INTERVAL)
    handler = type("BoundHandler", (Handler,), {"engine": engine})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    watcher = Watcher(engine, lambda outcome, state: report(outcome, state, out))
    watcher.start()
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{server.server_address[1]}/"
    signal.signal(signal.SIGTERM, _interrupt)
    try:  # from the moment it says it serves: a Ctrl-C right after stops it as cleanly
        print(f"Serving {options.audience} edition of {root} at {url} (Ctrl-C to stop)", file=out, flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()
        watcher.stop()
        server.server_close()
        print("Stopped.", file=out, flush=True)
    return 0


def _interrupt(signum, frame) -> None:
    """SIGTERM stops the server like Ctrl-C does."""
    raise KeyboardInterrupt


def report(outcome: Outcome, state: State, out) -> None:
    """The terminal shows what the browser shows: diagnostics, or what was rebuilt and how fast."""
    for d in state.diagnostics:
        print(d, file=sys.stderr, flush=True)
    if outcome.ok:
        t = outcome.timings
        print(f"rebuilt: {outcome.pages} pages in {t['total'] * 1000:.0f} ms (load {t['load'] * 1000:.0f} ms, "
              f"plan {t['plan'] * 1000:.0f} ms; pages are rendered as they are asked for)", file=out, flush=True)
    else:
        serving = "still serving the last good site" if state.site else "nothing to serve until they are fixed"
        print(f"{len(state.errors)} error(s): {serving}", file=out, flush=True)
