"""Loopback classifier endpoint for the adversarial-stage tests: serves a model written by
classifier-models.py on 127.0.0.1 (port 0), counts every instance it scores, and can misbehave.

  python classifier-server.py --model brittle.npz [--labels] [--fault MODE] [--fault-after N]
                              [--key-header Authorization] [--idle-seconds 60] [--max-requests 5000]

POST /predict {"instances": [[64 floats], ...]}
  -> {"predictions": [{"probabilities": [...], "label": k}, ...]}   (default)
  -> {"labels": [k, ...]}                                           (--labels)
GET /count -> {"instances": n, "requests": m, "faults": f}  (instances received on /predict,
  scored or not — what the runner's budget must bound)
The expected key comes from env SECGATE_TEST_SERVER_KEY (absent: no check); with --key-header
Authorization it must be sent as "Bearer <key>", with any other header as the raw key; a wrong
or missing key -> 401.
Fault modes (after --fault-after successful predict requests): 429 (a storm, Retry-After: 0),
500, slow (sleeps --slow-seconds, default 5: set the runner's request_timeout_s below it), badjson, drop (closes the connection
without an answer), nan (probabilities that do not sum to 1).
Prints the port on the first stdout line; exits after --idle-seconds without a request or after
--max-requests requests.
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--labels", action="store_true")
    parser.add_argument("--fault", choices=["none", "429", "500", "slow", "badjson", "drop", "nan"], default="none")
    parser.add_argument("--fault-after", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=5)
    parser.add_argument("--key-header", default="Authorization")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=5000)
    args = parser.parse_args()
    weights = dict(np.load(args.model))
    key = os.environ.get("SECGATE_TEST_SERVER_KEY")
    expected = (f"Bearer {key}" if args.key_header.lower() == "authorization" else key) if key else None
    state = {"instances": 0, "requests": 0, "ok": 0, "faults": 0, "last": time.monotonic()}
    lock = threading.Lock()

    def predict(x):
        h = np.maximum(x @ weights["w1"] + weights["b1"], 0)
        z = h @ weights["w2"] + weights["b2"]
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def reply(self, status, body, headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/count":
                with lock:
                    self.reply(200, {"instances": state["instances"], "requests": state["requests"], "faults": state["faults"]})
            else:
                self.reply(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with lock:
                state["requests"] += 1
                state["last"] = time.monotonic()
            if self.path != "/predict":
                return self.reply(404, {"error": "not found"})
            if expected is not None and self.headers.get(args.key_header) != expected:
                return self.reply(401, {"error": "unauthorized"})
            try:
                x = np.asarray(json.loads(raw)["instances"], dtype=np.float32)
                x = x.reshape(len(x), -1)
            except (ValueError, KeyError, TypeError):
                return self.reply(400, {"error": "body must be {\"instances\": [[...], ...]}"})
            with lock:
                state["instances"] += len(x)
                faulty = args.fault != "none" and state["ok"] >= args.fault_after
                if faulty:
                    state["faults"] += 1
                else:
                    state["ok"] += 1
            if faulty:
                if args.fault == "429":
                    return self.reply(429, {"error": "slow down"}, [("Retry-After", "0")])
                if args.fault == "500":
                    return self.reply(500, {"error": "internal"})
                if args.fault == "slow":
                    time.sleep(args.slow_seconds)
                    return self.reply(200, {"predictions": []})
                if args.fault == "badjson":
                    return self.reply(200, b'{"predictions": [{"probabilities": [0.1,')
                if args.fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
            prob = predict(x)
            if args.fault == "nan" and faulty:
                prob = prob * 3
            labels = prob.argmax(axis=1).tolist()
            if args.labels:
                return self.reply(200, {"labels": labels})
            return self.reply(200, {"predictions": [{"probabilities": p, "label": k} for p, k in zip(prob.tolist(), labels)]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def watchdog():
        while True:
            time.sleep(0.2)
            with lock:
                idle = time.monotonic() - state["last"] > args.idle_seconds
                spent = state["requests"] >= args.max_requests
            if idle or spent:
                server.shutdown()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
