"""Receives Hookline deliveries on 127.0.0.1:$RECEIVER_PORT (9000) and checks
webhook-signature with the official library (pip install standardwebhooks),
which takes the whsec_ secret as shown and decodes it. Exits after one."""
import http.server, os, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

hook = Webhook(sys.argv[1])

class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            event = hook.verify(body, dict(self.headers))  # id, timestamp (5 min), signature
        except WebhookVerificationError:
            event = None
        self.send_response(200 if event else 401)
        self.end_headers()
        if event:
            print("verified", event["type"], self.headers["webhook-id"], flush=True)
            self.server.done = True

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", int(os.environ.get("RECEIVER_PORT", "9000"))), Hook)
server.done = False
while not server.done:
    server.handle_request()
