"""Receives Hookline deliveries on 127.0.0.1:$RECEIVER_PORT (9000) and checks
X-HMS-Signature: hex HMAC-SHA256 over "{X-HMS-Timestamp}.{body}", keyed with
the secret string exactly as shown, `whsec_` included. Exits after one."""
import hashlib, hmac, http.server, os, sys, time

SECRET = sys.argv[1].encode()

class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers["X-HMS-Timestamp"]
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers["X-HMS-Signature"]) and abs(time.time() - int(ts)) < 300
        self.send_response(200 if ok else 401)
        self.end_headers()
        if ok:
            print("verified", self.headers["X-Event-Type"], self.headers["X-Delivery-Id"], flush=True)
            self.server.done = True

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", int(os.environ.get("RECEIVER_PORT", "9000"))), Hook)
server.done = False
while not server.done:
    server.handle_request()
