"""Seed 003's consumer: its `verify_webhook_signature` exactly as the seed
prints it, on the `X-C4HXP-Signature` header; then `event`, `data` and
`meta.webhook_id`, as the seed's handlers read them.
Usage: seed003.py SECRET (port in RECEIVER_PORT)."""
import http.server, json, os, sys

# --- seed 003 ---
import hmac
import hashlib

def verify_webhook_signature(payload, signature, secret):
    """Verify webhook signature"""
    expected_signature = hmac.new(
        secret.encode(),
        payload,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected_signature}", signature)
# --- end of seed 003 ---


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify_webhook_signature(body, self.headers.get("X-C4HXP-Signature", ""), sys.argv[1])
        self.send_response(200 if ok else 401)
        self.end_headers()
        if ok:
            webhook_data = json.loads(body)
            seen = {"event": webhook_data["event"], "id": webhook_data["meta"]["webhook_id"], "data": webhook_data["data"]}
            print("verified", json.dumps(seen, ensure_ascii=False), flush=True)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(os.environ["RECEIVER_PORT"])), Hook).serve_forever()
