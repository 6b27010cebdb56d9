// Receives Hookline deliveries on 127.0.0.1:$RECEIVER_PORT (9000) and checks
// X-HMS-Signature: hex HMAC-SHA256 over "{X-HMS-Timestamp}.{body}", keyed with
// the secret string exactly as shown, `whsec_` included. Exits after one.
const crypto = require("node:crypto");
const http = require("node:http");
const secret = process.argv[2];

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const ts = req.headers["x-hms-timestamp"] || "";
    const mac = crypto.createHmac("sha256", secret).update(`${ts}.`).update(body).digest("hex");
    const want = Buffer.from(`sha256=${mac}`);
    const got = Buffer.from(req.headers["x-hms-signature"] || "");
    const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
    const ok = fresh && got.length === want.length && crypto.timingSafeEqual(got, want);
    res.writeHead(ok ? 200 : 401).end();
    if (ok) {
      console.log("verified", req.headers["x-event-type"], req.headers["x-delivery-id"]);
      server.close();
    }
  });
});
server.listen(Number(process.env.RECEIVER_PORT || 9000), "127.0.0.1");
