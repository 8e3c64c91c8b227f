"""A webhook receiver on Python's http.server, the way a customer might write one.

Usage: python3 -u webhook_receiver.py HTTP/1.0|HTTP/1.1

Every request is printed to stdout as one JSON line, {"n", "method", "path", "version", "headers",
"body_b64"}, and its answer is whatever the test writes back on stdin as one JSON line:
{"n": 1, "status": 200, "location": "..."} answers it; {"n": 1, "hang": true} never does. The body is
read by its Content-Length, as http.server leaves it to handlers (no chunked decoding), so a body sent
any other way arrives empty. The first line is {"listening": <port>}. End of stdin stops the process.
"""

import base64
import json
import os
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

answers = {}
answers_lock = threading.Lock()
counter = [0]
stdout_lock = threading.Lock()


def answer_queue(n):
    with answers_lock:
        return answers.setdefault(n, queue.Queue())


def emit(obj):
    with stdout_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with answers_lock:
            counter[0] += 1
            n = counter[0]
        emit({
            "n": n,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_b64": base64.b64encode(body).decode("ascii"),
        })
        decision = answer_queue(n).get()
        if decision.get("hang"):
            threading.Event().wait()
        payload = b"ok"
        self.send_response(decision["status"])
        if decision.get("location"):
            self.send_header("Location", decision["location"])
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))


def read_answers():
    for line in sys.stdin:
        decision = json.loads(line)
        answer_queue(decision["n"]).put(decision)
    # The test process is gone: nobody will answer, and nobody will stop us otherwise.
    os._exit(0)


def main():
    Receiver.protocol_version = sys.argv[1] if len(sys.argv) > 1 else "HTTP/1.0"
    # Its handler threads are daemons, which server_close() does not wait for: a request told to
    # hang does not hold up the stop.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=read_answers, daemon=True).start()
    emit({"listening": server.server_address[1]})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
