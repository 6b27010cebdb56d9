<?php
// Seed 000's "Developer Verification Example (PHP)", unchanged between the
// markers; around it only what a PHP app supplies: $secret, and what it does
// once a request is authenticated (here: print what it parsed).
// Run: php -S 127.0.0.1:PORT tests/seeds/seed000.php (secret in HOOKLINE_SECRET).
$secret = getenv('HOOKLINE_SECRET');
// --- seed 000 ---
$payload = file_get_contents('php://input');
$signature = $_SERVER['HTTP_X_HMS_SIGNATURE'];
$timestamp = $_SERVER['HTTP_X_HMS_TIMESTAMP'];

// Replay Attack Protection (5 minute tolerance)
if (abs(time() - (int)$timestamp) > 300) {
    http_response_code(401);
    die('Timestamp expired');
}

$expected = 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $payload, $secret);

if (hash_equals($expected, $signature)) {
    // Authenticated
// --- end of seed 000 ---
    $event = json_decode($payload, true);
    $seen = ['event' => $event['type'], 'id' => $event['metadata']['delivery_id'], 'data' => $event['data']];
    file_put_contents('php://stderr', 'verified ' . json_encode($seen, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION) . "\n");
} else {
    http_response_code(401);
}
