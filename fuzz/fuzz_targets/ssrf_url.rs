//! Endpoint URL vetting: arbitrary URL text must never panic, and a URL that
//! passes must not name a forbidden address in any spelling.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use shared::ssrf::{forbidden_reason, TargetPolicy};
use url::Host;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    url: &'a str,
    allowed: &'a str,
    v4: [u8; 4],
    v6: [u8; 16],
}

/// The IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4).
fn embeddings(v4: Ipv4Addr) -> [Ipv6Addr; 4] {
    let [a, b, c, d] = v4.octets();
    let hi = u16::from_be_bytes([a, b]);
    let lo = u16::from_be_bytes([c, d]);
    [
        v4.to_ipv6_mapped(),
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo),
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
        Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
    ]
}

fuzz_target!(|input: Input| {
    let strict = TargetPolicy::default();
    if let Ok(url) = strict.check_url(input.url) {
        match url.host() {
            Some(Host::Ipv4(ip)) => assert_eq!(forbidden_reason(IpAddr::V4(ip)), None, "{} passed", input.url),
            Some(Host::Ipv6(ip)) => assert_eq!(forbidden_reason(IpAddr::V6(ip)), None, "{} passed", input.url),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                assert!(name != "localhost" && !name.ends_with(".localhost"), "{} passed", input.url);
                // A domain that is really an address would skip the literal check.
                assert!(name.parse::<IpAddr>().is_err(), "{} passed as a domain", input.url);
            }
            None => panic!("{} passed without a host", input.url),
        }
    }
    if let Ok(policy) = TargetPolicy::new(input.allowed, false) {
        let _ = policy.check_url(input.url);
    }

    // Whatever hides in an IPv6 embedding is judged at least as strictly as the bare address.
    let v4 = Ipv4Addr::from(input.v4);
    if forbidden_reason(IpAddr::V4(v4)).is_some() {
        for v6 in embeddings(v4) {
            assert!(forbidden_reason(IpAddr::V6(v6)).is_some(), "{v4} escapes as {v6}");
        }
    }
    let v6 = Ipv6Addr::from(input.v6);
    if let Some(inner) = v6.to_ipv4_mapped() {
        if forbidden_reason(IpAddr::V4(inner)).is_some() {
            assert!(forbidden_reason(IpAddr::V6(v6)).is_some(), "{v6} escapes");
        }
    }
    // Every address spelled as a URL gets the verdict of the address itself.
    for ip in [IpAddr::V4(v4), IpAddr::V6(v6)] {
        let text = match ip {
            IpAddr::V4(a) => format!("https://{a}/"),
            IpAddr::V6(a) => format!("https://[{a}]/"),
        };
        assert_eq!(strict.check_url(&text).is_ok(), forbidden_reason(ip).is_none(), "{text}");
    }
});
