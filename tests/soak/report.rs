//! The soak's verdict: `target/soak/summary.json` and a table on stdout.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

/// One SIGKILL and restart.
#[derive(Debug, Clone, Serialize)]
pub struct Kill {
    pub at_seconds: f64,
    /// How far the run was (0-1) when it happened.
    pub progress: f64,
    /// From exec to the API answering again.
    pub restart_seconds: f64,
}

/// What one healthy endpoint's receiver got.
#[derive(Debug, Clone, Serialize)]
pub struct Receiving {
    pub endpoint_id: String,
    pub url: String,
    /// The endpoint's status at the end (a healthy one must still be active).
    pub status: String,
    pub expected: usize,
    /// Distinct expected deliveries answered 200 at least once.
    pub delivered: usize,
    /// 200s beyond the first for the same `webhook-id`.
    pub duplicates: usize,
    pub duplicate_ids: usize,
    /// 200s for ids nobody published (must be 0).
    pub unexpected: usize,
    pub requests: u64,
    pub ok: u64,
    pub server_errors: u64,
    pub hangs: u64,
    pub resets: u64,
    pub longest_failure_streak: u32,
}

/// A delivery a healthy receiver never got, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub delivery_id: String,
    pub detail: Value,
}

/// The down endpoint brought back and enabled at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// Its deliveries parked when it was enabled.
    pub parked: usize,
    /// Of those, how many its receiver then got with a 200.
    pub delivered: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// 200s for deliveries that were not parked (must be 0).
    pub unexpected: usize,
    /// How long the enable request took.
    pub enable_seconds: f64,
    /// From the enable until the last parked delivery arrived.
    pub seconds: f64,
}

/// Everything the run found.
pub struct Summary {
    pub events: usize,
    pub published: usize,
    pub publish_retries: u64,
    pub kills: Vec<Kill>,
    pub wall_seconds: f64,
    /// When every healthy receiver had every event.
    pub healthy_seconds: Option<f64>,
    /// When the down endpoint had nothing left pending or retrying.
    pub settled_seconds: f64,
    pub time_limit_seconds: u64,
    pub time_limit_hit: bool,
    pub endpoints: Vec<Receiving>,
    pub down_endpoint: String,
    pub down_status: String,
    /// The down endpoint's deliveries by status.
    pub down_counts: BTreeMap<String, usize>,
    pub dead_lettered: Option<u64>,
    /// Delivery queue at the end: (visible or delayed, in flight).
    pub queue_left: Option<(u64, u64)>,
    pub missing_sample: Vec<Missing>,
    pub recovery: Option<Recovery>,
    pub settings: Value,
}

/// Writes the summary and prints the table; true when nothing was lost,
/// no healthy endpoint was paused and the run finished in time.
pub fn write(s: &Summary, dir: &Path) -> bool {
    let expected: usize = s.endpoints.iter().map(|e| e.expected).sum();
    let delivered: usize = s.endpoints.iter().map(|e| e.delivered).sum();
    let lost = expected - delivered;
    let duplicates: usize = s.endpoints.iter().map(|e| e.duplicates).sum();
    let duplicate_ids: usize = s.endpoints.iter().map(|e| e.duplicate_ids).sum();
    let unexpected: usize = s.endpoints.iter().map(|e| e.unexpected).sum();
    let count = |k: &str| s.down_counts.get(k).copied().unwrap_or(0);
    let paused_healthy = s.endpoints.iter().filter(|e| e.status != "active").count();
    let streak = s.endpoints.iter().map(|e| e.longest_failure_streak).max().unwrap_or(0);
    let summary = json!({
        "events": s.events,
        "published": s.published,
        "expected": expected,
        "delivered": delivered,
        "lost": lost,
        "duplicates": duplicates,
        "duplicate_ids": duplicate_ids,
        "unexpected": unexpected,
        "parked": count("parked"),
        "down_failed": count("failed"),
        "down_delivered": count("delivered"),
        "down_open": count("pending") + count("retrying"),
        "down_status": s.down_status,
        "down_endpoint": s.down_endpoint,
        "paused_healthy_endpoints": paused_healthy,
        "longest_failure_streak": streak,
        "kills": s.kills.len(),
        "kill_log": s.kills,
        "wall_seconds": s.wall_seconds,
        "healthy_seconds": s.healthy_seconds,
        "settled_seconds": s.settled_seconds,
        "time_limit_seconds": s.time_limit_seconds,
        "time_limit_hit": s.time_limit_hit,
        "publish_retries": s.publish_retries,
        "dead_lettered": s.dead_lettered,
        "queue_left": s.queue_left.map(|(visible, in_flight)| json!({"visible": visible, "in_flight": in_flight})),
        "endpoints": s.endpoints,
        "missing_sample": s.missing_sample,
        "recovery": s.recovery,
        "settings": s.settings,
    });
    let path = dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary).expect("summary serializes"))
        .expect("summary written");

    let rows: Vec<(&str, String)> = vec![
        ("events published", format!("{} of {}", s.published, s.events)),
        ("deliveries expected (healthy)", expected.to_string()),
        ("delivered (distinct, 2xx)", delivered.to_string()),
        ("lost", lost.to_string()),
        ("duplicates (2xx again)", format!("{duplicates} over {duplicate_ids} deliveries")),
        ("down endpoint: parked", count("parked").to_string()),
        ("down endpoint: failed", count("failed").to_string()),
        ("down endpoint: still open", (count("pending") + count("retrying")).to_string()),
        ("down endpoint status", s.down_status.clone()),
        (
            "down endpoint enabled: resumed",
            s.recovery.as_ref().map_or("not run".into(), |r| {
                format!(
                    "{} of {} parked in {:.0} s (enable answered in {:.2} s)",
                    r.delivered, r.parked, r.seconds, r.enable_seconds
                )
            }),
        ),
        ("healthy endpoints paused", paused_healthy.to_string()),
        ("longest failure streak", streak.to_string()),
        ("kills (SIGKILL + restart)", s.kills.len().to_string()),
        ("publish retries", s.publish_retries.to_string()),
        ("dead-lettered", s.dead_lettered.map_or("?".into(), |n| n.to_string())),
        ("healthy complete at", s.healthy_seconds.map_or("never".into(), |t| format!("{t:.0} s"))),
        (
            "wall time",
            format!(
                "{:.0} s (limit {} s{})",
                s.wall_seconds,
                s.time_limit_seconds,
                if s.time_limit_hit { ", hit" } else { "" }
            ),
        ),
    ];
    println!();
    println!("| soak | |");
    println!("|---|---:|");
    for (k, v) in &rows {
        println!("| {k} | {v} |");
    }
    println!();
    println!("| endpoint | requests | 200 | 503 | hangs | resets | delivered | duplicates | status |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for e in &s.endpoints {
        println!(
            "| {} | {} | {} | {} | {} | {} | {}/{} | {} | {} |",
            e.endpoint_id,
            e.requests,
            e.ok,
            e.server_errors,
            e.hangs,
            e.resets,
            e.delivered,
            e.expected,
            e.duplicates,
            e.status
        );
    }
    println!();
    println!("summary: {}", path.display());
    let recovered = s.recovery.as_ref().is_none_or(|r| r.lost == 0 && r.unexpected == 0);
    lost == 0 && unexpected == 0 && paused_healthy == 0 && recovered && !s.time_limit_hit && s.published == s.events
}
