//! Delivery retry timing: a fixed schedule with ±20 % jitter, a test-time scale, and the receiver's Retry-After.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

/// The default wait after each failed attempt: 5 s, 1 m, 5 m, 30 m, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (later reuse 24 h).
pub const DEFAULT_SCHEDULE_SECS: [u64; 10] = [5, 60, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// Longest Retry-After honoured; longer values are cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// A uniform number in [0, 1) from the OS random source, for jitter.
pub fn jitter_unit() -> f64 {
    // Jitter only spreads load, so if the OS source is unavailable the midpoint (no jitter) is an acceptable answer.
    match getrandom::u64() {
        // The top 53 bits fill an f64 mantissa exactly, so every value is representable and strictly below 1.
        Ok(bits) => (bits >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// Wait before retry number `retry` (1 = after the first failure): schedule × (0.8 + 0.4 × jitter) × scale.
pub fn backoff(retry: u32, jitter: f64, scale: f64) -> Duration {
    backoff_on(None, retry, jitter, scale)
}

/// [`backoff`] on an endpoint's own schedule (`None` or empty: the default);
/// past its end the last delay repeats.
pub fn backoff_on(schedule: Option<&[u32]>, retry: u32, jitter: f64, scale: f64) -> Duration {
    let index = retry.max(1) as usize - 1;
    let secs = match schedule {
        Some(own) if !own.is_empty() => u64::from(own[index.min(own.len() - 1)]),
        _ => DEFAULT_SCHEDULE_SECS[index.min(DEFAULT_SCHEDULE_SECS.len() - 1)],
    };
    // Out-of-range jitter is a caller bug; clamping keeps the ±20 % promise regardless.
    let jitter = if jitter.is_nan() { 0.5 } else { jitter.clamp(0.0, 1.0) };
    // A missing or nonsensical scale must not turn retries into a hot loop or an endless wait.
    let scale = if scale > 0.0 && scale.is_finite() { scale } else { 1.0 };
    // Integer milliseconds keep jitter 0 at exactly 80 % and any jitter below 1 strictly under 120 %, which float
    // multiplication alone would round up to.
    let spread_ms = secs * 400;
    let jitter_ms = ((spread_ms as f64 * jitter) as u64).min(spread_ms - 1);
    let millis = secs * 800 + jitter_ms;
    // The saturating float-to-int cast means no scale can panic.
    Duration::from_nanos((millis as f64 * 1e6 * scale).round() as u64)
}

/// Parses a Retry-After value: delta-seconds or an HTTP-date relative to `now` (past dates give zero).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // An absurdly long delta is still a valid instruction to wait; the cap in `retry_delay` deals with it.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The wait actually used: the receiver's Retry-After (capped, never scaled) when longer than the backoff, else backoff.
pub fn retry_delay(
    schedule: Option<&[u32]>,
    retry: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    scale: f64,
) -> Duration {
    let backoff = backoff_on(schedule, retry, jitter, scale);
    match retry_after.map(|ra| ra.min(MAX_RETRY_AFTER)) {
        Some(ra) if ra > backoff => ra,
        _ => backoff,
    }
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    // RFC 9110 §5.6.7: recipients must accept IMF-fixdate plus the obsolete RFC 850 and asctime forms.
    if let Ok(at) = DateTime::parse_from_rfc2822(value) {
        return Some(at.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HOUR: u64 = 3600;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 0, 0).unwrap()
    }

    #[test]
    fn zero_jitter_gives_eighty_percent() {
        for (i, secs) in DEFAULT_SCHEDULE_SECS.iter().enumerate() {
            assert_eq!(backoff(i as u32 + 1, 0.0, 1.0), Duration::from_millis(secs * 800));
        }
    }

    #[test]
    fn jitter_near_one_stays_below_one_hundred_twenty_percent() {
        let almost_one = f64::from_bits(1.0f64.to_bits() - 1);
        for (i, secs) in DEFAULT_SCHEDULE_SECS.iter().enumerate() {
            let wait = backoff(i as u32 + 1, almost_one, 1.0);
            assert!(wait < Duration::from_millis(secs * 1200), "retry {}: {wait:?}", i + 1);
            assert!(wait > Duration::from_millis(secs * 1199), "retry {}: {wait:?}", i + 1);
        }
    }

    #[test]
    fn jitter_unit_is_in_unit_interval() {
        for _ in 0..1000 {
            let j = jitter_unit();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn schedule_grows() {
        assert!(DEFAULT_SCHEDULE_SECS.windows(2).all(|w| w[0] < w[1]));
        let waits: Vec<_> = (1..=10).map(|r| backoff(r, 0.5, 1.0)).collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert_eq!(backoff(1, 0.5, 1.0), Duration::from_secs(5));
        assert_eq!(backoff(10, 0.5, 1.0), Duration::from_secs(24 * HOUR));
    }

    #[test]
    fn scale_shrinks_the_whole_wait() {
        assert_eq!(backoff(1, 0.5, 0.01), Duration::from_millis(50));
        assert_eq!(backoff(10, 0.0, 0.01), Duration::from_millis(691_200));
    }

    #[test]
    fn nonpositive_or_nan_scale_counts_as_one() {
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(backoff(2, 0.5, scale), Duration::from_secs(60), "{scale}");
        }
    }

    #[test]
    fn retry_zero_is_treated_as_first_retry() {
        assert_eq!(backoff(0, 0.3, 1.0), backoff(1, 0.3, 1.0));
    }

    #[test]
    fn retries_past_the_table_use_a_day() {
        for retry in [11, 50, u32::MAX] {
            assert_eq!(backoff(retry, 0.5, 1.0), Duration::from_secs(24 * HOUR));
        }
    }

    #[test]
    fn retry_after_delta_seconds_parses() {
        assert_eq!(parse_retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999999999999999999999", now()), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn retry_after_http_date_is_relative_to_now() {
        let expected = Some(Duration::from_secs(28 * 60));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()), expected);
        assert_eq!(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now()), expected);
        assert_eq!(parse_retry_after("Wed Oct 21 07:28:00 2015", now()), expected);
        assert_eq!(parse_retry_after("Wed Oct  7 07:00:00 2015", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_past_date_is_zero() {
        assert_eq!(parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_or_negative_is_none() {
        for value in ["", "  ", "soon", "-5", "1.5", "+10", "12 s", "Wed, 32 Oct 2015 07:28:00 GMT", "\u{1f600}"] {
            assert_eq!(parse_retry_after(value, now()), None, "{value:?}");
        }
    }

    #[test]
    fn longer_retry_after_wins_and_is_capped() {
        let ra = Duration::from_secs(600);
        assert_eq!(retry_delay(None, 1, Some(ra), 0.5, 1.0), ra);
        assert_eq!(retry_delay(None, 1, Some(Duration::from_secs(100 * HOUR)), 0.5, 1.0), MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_is_not_scaled() {
        let ra = Duration::from_secs(30);
        assert_eq!(retry_delay(None, 3, Some(ra), 0.5, 0.01), ra);
    }

    #[test]
    fn shorter_retry_after_loses_to_backoff() {
        assert_eq!(retry_delay(None, 3, Some(Duration::from_secs(10)), 0.5, 1.0), Duration::from_secs(300));
        assert_eq!(
            retry_delay(None, 10, Some(Duration::from_secs(100 * HOUR)), 0.5, 1.0),
            Duration::from_secs(24 * HOUR)
        );
        assert_eq!(retry_delay(None, 3, None, 0.5, 1.0), Duration::from_secs(300));
    }

    #[test]
    fn an_endpoints_own_schedule_replaces_the_default_with_the_same_jitter() {
        let own = [2u32, 4];
        assert_eq!(backoff_on(Some(&own), 1, 0.5, 1.0), Duration::from_secs(2));
        assert_eq!(backoff_on(Some(&own), 2, 0.5, 1.0), Duration::from_secs(4));
        assert_eq!(backoff_on(Some(&own), 2, 0.0, 1.0), Duration::from_millis(3200), "-20 %");
        assert!(backoff_on(Some(&own), 2, 0.999, 1.0) < Duration::from_millis(4800), "under +20 %");
        assert_eq!(backoff_on(Some(&own), 7, 0.5, 1.0), Duration::from_secs(4), "the last delay repeats");
        assert_eq!(backoff_on(Some(&[]), 1, 0.5, 1.0), backoff(1, 0.5, 1.0));
        let honoured = Duration::from_secs(60);
        assert_eq!(retry_delay(Some(&own), 1, Some(honoured), 0.5, 1.0), honoured, "Retry-After still wins");
    }
}
