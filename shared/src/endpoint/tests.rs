//! Tests of `endpoint`.

use super::*;

fn create(json: Value) -> EndpointSettings {
    let input: EndpointCreate = serde_json::from_value(json).unwrap();
    EndpointSettings::from_create(&input, "hooks.example.com")
}

fn known(t: &str) -> bool {
    ["bill.paid", "patient.registered"].contains(&t)
}

fn code(settings: &EndpointSettings) -> String {
    settings.validate("X-HMS", known).unwrap_err().code.into_owned()
}

#[test]
fn defaults_fill_in_a_minimal_create() {
    let s = create(serde_json::json!({"url": "https://hooks.example.com/x", "event_types": ["bill.paid"]}));
    assert_eq!(s.name, "hooks.example.com");
    assert_eq!(s.retry_policy, RetryPolicy::Exponential);
    assert_eq!((s.max_retries, s.timeout_seconds), (10, 15));
    assert!(s.validate("X-HMS", known).is_ok());
}

#[test]
fn unknown_fields_are_refused_by_the_parser() {
    let err = serde_json::from_value::<EndpointCreate>(
        serde_json::json!({"url": "https://a.b", "event_types": [], "colour": 1}),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("unknown field `colour`"));
}

#[test]
fn each_rule_has_its_own_code() {
    let base = create(serde_json::json!({"url": "https://a.example/x", "event_types": ["bill.paid"]}));
    let with = |f: &dyn Fn(&mut EndpointSettings)| {
        let mut s = base.clone();
        f(&mut s);
        code(&s)
    };
    assert_eq!(with(&|s| s.event_types = vec![]), "missing_event_types");
    assert_eq!(with(&|s| s.event_types = vec!["bill.refunded".into()]), "unknown_event_type");
    assert_eq!(with(&|s| s.event_types = vec!["Bad Type".into()]), "invalid_event_type");
    assert_eq!(with(&|s| s.timeout_seconds = 0), "invalid_timeout");
    assert_eq!(with(&|s| s.timeout_seconds = 31), "invalid_timeout");
    assert_eq!(with(&|s| s.max_retries = 21), "invalid_max_retries");
    assert_eq!(with(&|s| s.name = "n".repeat(129)), "field_too_long");
    assert_eq!(with(&|s| s.description = "d".repeat(1025)), "field_too_long");
    assert_eq!(with(&|s| s.name = "  ".into()), "invalid_name");
    assert_eq!(
        with(&|s| {
            s.headers.insert("X-HMS-Signature".into(), "x".into());
        }),
        "reserved_header"
    );
    assert_eq!(
        with(&|s| {
            s.headers.insert("webhook-id".into(), "x".into());
        }),
        "reserved_header"
    );
    assert_eq!(
        with(&|s| {
            s.headers.insert("X Bad".into(), "x".into());
        }),
        "invalid_header"
    );
    assert_eq!(
        with(&|s| {
            s.headers.insert("X-Ok".into(), "a\r\nb".into());
        }),
        "invalid_header_value"
    );
    assert_eq!(with(&|s| s.headers = (0..21).map(|i| (format!("X-H{i}"), "v".into())).collect()), "too_many_items");
    assert_eq!(
        with(&|s| s.filters = vec![PayloadFilter { pointer: "region".into(), equals: Some(1.into()), one_of: None }]),
        "invalid_filter"
    );
}

#[test]
fn wildcards_need_no_catalog_entry() {
    let s = create(serde_json::json!({"url": "https://a.example/", "event_types": ["*", "lab.*"]}));
    assert!(s.validate("X-HMS", known).is_ok());
}

#[test]
fn a_patch_replaces_only_what_it_names() {
    let s =
        create(serde_json::json!({"url": "https://a.example/", "event_types": ["bill.paid"], "description": "keep"}));
    let patch: EndpointPatch = serde_json::from_value(serde_json::json!({"timeout_seconds": 5})).unwrap();
    let next = s.patched(&patch);
    assert_eq!(next.timeout_seconds, 5);
    assert_eq!(next.description, "keep");
}

#[test]
fn filters_match_by_pointer() {
    let data = serde_json::json!({"region": "IN-KA", "total": 5});
    let eq = PayloadFilter { pointer: "/region".into(), equals: Some("IN-KA".into()), one_of: None };
    let within = PayloadFilter { pointer: "/total".into(), equals: None, one_of: Some(vec![1.into(), 5.into()]) };
    let missing = PayloadFilter { pointer: "/nope".into(), equals: Some(1.into()), one_of: None };
    assert!(eq.matches(&data) && within.matches(&data));
    assert!(!missing.matches(&data));
}
