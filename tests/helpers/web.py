"""A small web site on 127.0.0.1 for the link tests: pages, redirects, wrong types, huge pages."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Cape Zelenyi lighthouse</title></head>
<body><nav>Home | News | Contact</nav>
<article><h1>Cape Zelenyi lighthouse</h1>
<p>The lighthouse on Cape Zelenyi was built in 1894 from limestone quarried nearby.</p>
<p>Its keeper since 2011 is Mykola Drozd, who lights the lamp every evening at dusk.</p>
<p>Visitors may climb the 112 steps of the tower on Saturdays from May to September.</p>
</article><footer>Copyright the Cape Zelenyi society</footer></body></html>
"""


class WebSite:
    """`routes`: path -> (status, headers, body); served until `stop`."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                status, headers, body = site.routes.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, path: str, html: str = ARTICLE, *, kind: str = "text/html") -> str:
        self.routes[path] = (200, {"Content-Type": f"{kind}; charset=utf-8"}, html.encode())
        return self.base + path

    def redirect(self, path: str, to: str) -> str:
        self.routes[path] = (302, {"Location": to}, b"")
        return self.base + path

    def __enter__(self) -> WebSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
