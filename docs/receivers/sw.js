// Receives Hookline deliveries on 127.0.0.1:$RECEIVER_PORT (9000) and checks
// webhook-signature with the official library (npm install standardwebhooks),
// which takes the whsec_ secret as shown and decodes it. Exits after one.
const http = require("node:http");
const { Webhook } = require("standardwebhooks");
const hook = new Webhook(process.argv[2]);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let event = null;
    try {
      event = hook.verify(Buffer.concat(chunks), req.headers); // id, timestamp (5 min), signature
    } catch {
      // WebhookVerificationError: a wrong signature, a stale timestamp or a missing header.
    }
    res.writeHead(event ? 200 : 401).end();
    if (event) {
      console.log("verified", event.type, req.headers["webhook-id"]);
      server.close();
    }
  });
});
server.listen(Number(process.env.RECEIVER_PORT || 9000), "127.0.0.1");
