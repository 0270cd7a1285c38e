"""A model-serving API on 127.0.0.1 with an OpenAPI spec, for the `mode: api` tests (schemathesis).

POST /predict takes {"instances": [[x1, x2, x3], ...]} and returns one probability pair per
instance. The planted bug (default): an empty `instances` list, which the spec allows, divides by
zero and answers 500. `--hardened` answers the same request with an empty prediction list.

GET /openapi.json serves the spec (also written to `--spec-out` for a file-based run). With
MODEL_API_KEY in the environment every /predict request must carry `--key-header` (default
`Authorization: Bearer <key>`), else 401 (documented in the spec).

Bounded: the server exits after `--max-requests` requests or `--lifetime` seconds, whichever
comes first, and prints `port <n>` on its first stdout line. GET /__requests returns the
request count so far (not counted itself).
"""

import argparse
import json
import math
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FEATURES = 3


def spec(hardened: bool, key_header: str) -> dict:
    number = {"type": "number", "minimum": -1000, "maximum": 1000}
    instances = {"type": "array", "items": {"type": "array", "items": number, "minItems": FEATURES, "maxItems": FEATURES}, "maxItems": 8}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "toy model server", "version": "1.0.0"},
        "paths": {
            "/predict": {
                "post": {
                    "operationId": "predict",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["instances"],
                                    "properties": {"instances": instances},
                                    "additionalProperties": False,
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "one probability pair per instance",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["predictions"],
                                        "properties": {
                                            "predictions": {
                                                "type": "array",
                                                "items": {"type": "array", "items": {"type": "number"}},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "400": {"description": "malformed body"},
                        "401": {"description": "missing or wrong key"},
                    },
                }
            }
        },
    }
    if os.environ.get("MODEL_API_KEY"):
        scheme = (
            {"type": "http", "scheme": "bearer"}
            if key_header.lower() == "authorization"
            else {"type": "apiKey", "in": "header", "name": key_header}
        )
        document["components"] = {"securitySchemes": {"key": scheme}}
        document["security"] = [{"key": []}]
    return document


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hardened", action="store_true")
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--lifetime", type=float, default=300)
    parser.add_argument("--spec-out")
    parser.add_argument("--key-header", default="Authorization")
    parser.add_argument("--no-spec-route", action="store_true", help="GET /openapi.json answers 404")
    args = parser.parse_args()
    key = os.environ.get("MODEL_API_KEY")
    expected = None if not key else (f"Bearer {key}" if args.key_header.lower() == "authorization" else key)
    document = spec(args.hardened, args.key_header)
    if args.spec_out:
        with open(args.spec_out, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
    state = {"requests": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):  # quiet: the tests read stdout
            pass

        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def count(self) -> None:
            with lock:
                state["requests"] += 1
                if state["requests"] >= args.max_requests:
                    threading.Thread(target=server.shutdown, daemon=True).start()

        def do_GET(self) -> None:
            if self.path == "/__requests":  # for the tests' budget checks; not counted
                self.answer(200, {"requests": state["requests"]})
                return
            self.count()
            if self.path == "/openapi.json" and not args.no_spec_route:
                self.answer(200, document)
            else:
                self.answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            self.count()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/predict":
                self.answer(404, {"error": "not found"})
                return
            if expected is not None and self.headers.get(args.key_header) != expected:
                self.answer(401, {"error": "unauthorized"})
                return
            try:
                body = json.loads(raw)
                instances = body["instances"]
                rows = [[float(v) for v in row] for row in instances]
            except (ValueError, TypeError, KeyError):
                self.answer(400, {"error": "malformed body"})
                return
            if not args.hardened:
                # The planted bug: a batch statistic with no guard for an empty batch.
                try:
                    sum(sum(row) for row in rows) / len(rows)
                except ZeroDivisionError:
                    self.send_response(500)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"Internal Server Error: division by zero")
                    return
            predictions = []
            for row in rows:
                score = max(-50.0, min(50.0, sum(row) / 100.0))
                positive = 1.0 / (1.0 + math.exp(-score))
                predictions.append([1.0 - positive, positive])
            self.answer(200, {"predictions": predictions})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()
    print(f"requests {state['requests']}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
