#!/usr/bin/env python3
"""A stand-in for Online Boutique's frontend, for testing the Locust scenarios without a cluster.

    python3 scripts/locust/standin.py [PORT]      (PORT 0 or absent: any free port)

Listens on 127.0.0.1 only and prints one line, ``listening on http://127.0.0.1:PORT``, once it
accepts connections. It serves the frontend's routes and answers as the real frontend does:

    GET  /                      200 HTML
    GET  /product/{id}          200 HTML for a catalog id; 500 for another (the real frontend's
                                answer when the catalog service does not know the product)
    POST /setCurrency           currency_code  -> 302 to the Referer, else /; 422 when missing or
                                not one of the shop's currencies
    POST /cart                  product_id, quantity -> 302 to /cart; 422 when either is missing,
                                or quantity is not a positive integer; 500 for an unknown product
    GET  /cart                  200 HTML
    POST /cart/empty            302 to /
    POST /cart/checkout         email, street_address, zip_code, city, state, country,
                                credit_card_number, credit_card_expiration_month,
                                credit_card_expiration_year, credit_card_cvv -> 200 HTML (the order
                                confirmation); 422 when a field is missing or a number is not one
    GET  /logout                302 to /
    GET  /_healthz              200 "ok"

Other paths get 404 and other methods on a known path 405, like gorilla/mux. A body that is not a
form gets 400. Every request is recorded under its method and route template ("POST /cart",
"GET /product/{id}"); requests to unknown routes under "unknown", requests answered with 4xx/5xx
under "rejected" as well. ``GET /_stats`` (not recorded) returns them as JSON:

    {"routes": {"GET /": 12, ...}, "unknown": {"GET /nope": 1}, "rejected": {"POST /cart 422": 1},
     "per_second": [3, 7, ...], "total": 40}

where per_second[i] counts the recorded requests in second i after start-up. The same JSON is
printed to stdout when the process ends on SIGTERM or SIGINT. Only the standard library is used.
"""
from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PRODUCTS = frozenset(
    "OLJCESPC7Z 66VCHSJNUP 1YMWWN1N4O L9ECAV7KIM 2ZYFJ3GM2N 0PUK6V6EV0 LS4PSXUNUM 9SIQT8TOJO 6E92ZMYYFZ".split()
)
CURRENCIES = frozenset(["EUR", "USD", "JPY", "GBP", "TRY", "CAD"])
CHECKOUT_FIELDS = (
    "email",
    "street_address",
    "zip_code",
    "city",
    "state",
    "country",
    "credit_card_number",
    "credit_card_expiration_month",
    "credit_card_expiration_year",
    "credit_card_cvv",
)
CHECKOUT_NUMBERS = ("zip_code", "credit_card_expiration_month", "credit_card_expiration_year", "credit_card_cvv")

# (method, path pattern, route template); the order matters only for overlapping patterns.
ROUTES = [
    ("GET", re.compile(r"/"), "/"),
    ("GET", re.compile(r"/product/([^/]+)"), "/product/{id}"),
    ("POST", re.compile(r"/setCurrency"), "/setCurrency"),
    ("GET", re.compile(r"/cart"), "/cart"),
    ("POST", re.compile(r"/cart"), "/cart"),
    ("POST", re.compile(r"/cart/empty"), "/cart/empty"),
    ("POST", re.compile(r"/cart/checkout"), "/cart/checkout"),
    ("GET", re.compile(r"/logout"), "/logout"),
    ("GET", re.compile(r"/_healthz"), "/_healthz"),
]


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.routes: dict[str, int] = {}
        self.unknown: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.per_second: list[int] = []
        self.total = 0

    def record(self, key: str, *, known: bool, status: int) -> None:
        second = int(time.monotonic() - self.started)
        with self.lock:
            self.total += 1
            target = self.routes if known else self.unknown
            target[key] = target.get(key, 0) + 1
            if status >= 400:
                rejected = f"{key} {status}"
                self.rejected[rejected] = self.rejected.get(rejected, 0) + 1
            while len(self.per_second) <= second:
                self.per_second.append(0)
            self.per_second[second] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "routes": dict(self.routes),
                "unknown": dict(self.unknown),
                "rejected": dict(self.rejected),
                "per_second": list(self.per_second),
                "total": self.total,
            }


RECORDER = Recorder()


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"UTF-8\">"
        f"<title>Online Boutique</title></head><body><h1>{title}</h1>{body}</body></html>\n"
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Locust's sessions expect
    server_version = "online-boutique-standin"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def do_PUT(self) -> None:
        self.dispatch()

    def do_DELETE(self) -> None:
        self.dispatch()

    def do_HEAD(self) -> None:
        self.dispatch()

    # --- plumbing -------------------------------------------------------------------------------

    def dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        body = self.read_body()
        if self.command == "GET" and path == "/_stats":
            self.send(200, json.dumps(RECORDER.snapshot()), "application/json")
            return
        matched = [(m, template, pattern.fullmatch(path)) for m, pattern, template in ROUTES]
        matched = [(m, template, match) for m, template, match in matched if match]
        for method, template, match in matched:
            if method == self.command:
                status = self.route(template, match, url.query, body)
                RECORDER.record(f"{self.command} {template}", known=True, status=status)
                return
        status = 405 if matched else 404
        RECORDER.record(f"{self.command} {path}", known=False, status=status)
        self.send(status, "405 method not allowed\n" if matched else "404 page not found\n", "text/plain; charset=utf-8")

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def form(self, query: str, body: bytes) -> dict[str, str] | None:
        """The query string and a urlencoded body, like Go's r.FormValue; None for a body that is not a form."""
        fields = {k: v[0] for k, v in parse_qs(query).items()}
        if body:
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind != "application/x-www-form-urlencoded":
                return None
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return None
            fields.update({k: v[0] for k, v in parse_qs(text).items()})
        return fields

    def send(self, status: int, text: str, content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if "shop_session-id" not in (self.headers.get("Cookie") or ""):
            self.send_header("Set-Cookie", f"shop_session-id={uuid.uuid4()}; Path=/; Max-Age=172800")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def redirect(self, location: str, cookies: list[str] | None = None) -> int:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        for cookie in cookies or []:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        return 302

    def reject(self, status: int, message: str) -> int:
        self.send(status, page(f"HTTP Status: {status} {message}", f"<pre>{message}</pre>"))
        return status

    # --- the frontend's handlers ----------------------------------------------------------------

    def route(self, template: str, match: re.Match, query: str, body: bytes) -> int:
        if template == "/_healthz":
            self.send(200, "ok", "text/plain; charset=utf-8")
            return 200
        if template == "/":
            self.send(200, page("Hot Products", "".join(f'<a href="/product/{p}">{p}</a>' for p in sorted(PRODUCTS))))
            return 200
        if template == "/product/{id}":
            product = match.group(1)
            if product not in PRODUCTS:
                return self.reject(500, "could not retrieve product")
            self.send(200, page(product, f'<form method="POST" action="/cart"><input name="product_id" value="{product}"></form>'))
            return 200
        if template == "/cart" and self.command == "GET":
            self.send(200, page("Cart", '<form method="POST" action="/cart/checkout"></form>'))
            return 200
        if template == "/logout":
            return self.redirect("/", ["shop_session-id=; Path=/; Max-Age=0"])
        if template == "/cart/empty":
            return self.redirect("/")

        form = self.form(query, body)
        if form is None:
            return self.reject(400, "malformed form body")
        if template == "/setCurrency":
            currency = form.get("currency_code", "")
            if currency not in CURRENCIES:
                return self.reject(422, "invalid currency_code")
            return self.redirect(self.headers.get("Referer") or "/", [f"shop_currency={currency}; Path=/; Max-Age=172800"])
        if template == "/cart":
            product, quantity = form.get("product_id", ""), form.get("quantity", "")
            if not product or not quantity.isdigit() or int(quantity) == 0:
                return self.reject(422, "invalid form input")
            if product not in PRODUCTS:
                return self.reject(500, "could not retrieve product")
            return self.redirect("/cart")
        if template == "/cart/checkout":
            missing = [f for f in CHECKOUT_FIELDS if not form.get(f, "").strip()]
            if missing:
                return self.reject(422, f"missing {', '.join(missing)}")
            bad = [f for f in CHECKOUT_NUMBERS if not form[f].strip().isdigit()]
            if bad:
                return self.reject(422, f"not a number: {', '.join(bad)}")
            self.send(200, page("Your order is complete!", f"<p>Confirmation #{uuid.uuid4()}</p>"))
            return 200
        raise AssertionError(f"no handler for {self.command} {template}")


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and not argv[1].isdigit()):
        print(f"usage: {argv[0]} [PORT]", file=sys.stderr)
        return 2
    port = int(argv[1]) if len(argv) == 2 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def finish(_signum: int, _frame: object) -> None:
        # shutdown() waits for serve_forever, which runs in this very thread: do it from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    print(json.dumps(RECORDER.snapshot()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
