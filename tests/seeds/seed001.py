"""Seed 001's consumer: its `verify_signature` exactly as the seed prints it,
called on each request with the `X-Signature` header; then the fields the
seed's payload format promises (`event`, `timestamp`, `delivery_id`, `data`).
Usage: seed001.py SECRET (port in RECEIVER_PORT)."""
import http.server, json, os, sys

# --- seed 001 ---
import hmac
import hashlib

def verify_signature(payload: bytes, secret: str, signature: str) -> bool:
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)
# --- end of seed 001 ---


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify_signature(body, sys.argv[1], self.headers.get("X-Signature", ""))
        self.send_response(200 if ok else 401)
        self.end_headers()
        if ok:
            event = json.loads(body)
            seen = {"event": event["event"], "id": event["delivery_id"], "timestamp": event["timestamp"], "data": event["data"]}
            print("verified", json.dumps(seen, ensure_ascii=False), flush=True)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(os.environ["RECEIVER_PORT"])), Hook).serve_forever()
