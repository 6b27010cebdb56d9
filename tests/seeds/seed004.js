// Seed 004's consumer: its verifyWebhookSignature exactly as the seed prints
// it, which signs JSON.stringify of the parsed body (what express.json()
// leaves in req.body), on the X-Webhook-Signature header.
// Usage: node seed004.js SECRET (port in RECEIVER_PORT).
const http = require('node:http');

// --- seed 004 ---
// Recipient's code
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
    const expectedSignature = crypto
        .createHmac('sha256', secret)
        .update(JSON.stringify(payload))
        .digest('hex');

    return crypto.timingSafeEqual(
        Buffer.from(signature),
        Buffer.from(expectedSignature)
    );
}
// --- end of seed 004 ---

const secret = process.argv[2];
http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        req.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const signature = req.headers['x-webhook-signature'] || '';
        let ok = false;
        try {
            ok = verifyWebhookSignature(req.body, signature, secret);
        } catch (e) {
            ok = false; // timingSafeEqual throws on a length mismatch
        }
        res.writeHead(ok ? 200 : 401).end();
        if (ok) {
            console.log('verified ' + JSON.stringify({ event: req.headers['x-event-type'], id: req.headers['x-delivery-id'], data: req.body }));
        }
    });
}).listen(Number(process.env.RECEIVER_PORT), '127.0.0.1');
