<?php
// One Hookline delivery, checked as the HMS guide does: hex HMAC-SHA256 over
// "{X-HMS-Timestamp}.{body}", keyed with the secret string exactly as shown.
// Run: php -S 127.0.0.1:9000 docs/receivers/hms.php (secret in HOOKLINE_SECRET).
$body = file_get_contents('php://input');
$ts = $_SERVER['HTTP_X_HMS_TIMESTAMP'] ?? '';
$want = 'sha256=' . hash_hmac('sha256', $ts . '.' . $body, getenv('HOOKLINE_SECRET'));
$ok = hash_equals($want, $_SERVER['HTTP_X_HMS_SIGNATURE'] ?? '') && abs(time() - (int) $ts) < 300;
http_response_code($ok ? 200 : 401);
if ($ok) {
    file_put_contents('php://stderr', "verified {$_SERVER['HTTP_X_EVENT_TYPE']} {$_SERVER['HTTP_X_DELIVERY_ID']}\n");
}
