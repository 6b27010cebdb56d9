//! Which network targets an endpoint may point at.
//!
//! Checked at registration (here) and again at connect time by the delivery
//! client, which resolves names itself and connects only to a vetted address.
//! Hosts are parsed by the WHATWG URL rules, so odd IPv4 spellings
//! (`2130706433`, `0x7f.1`, `017700000001`) arrive here as plain addresses.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::IpNet;
use url::{Host, Url};

use crate::error::ApiError;

mod own;
pub use own::OwnHost;

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// The deployment's rules for endpoint targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Private or loopback ranges that are reachable anyway (development, tests).
    pub allowed: Vec<IpNet>,
    /// Plain `http://` accepted everywhere (otherwise only inside `allowed`).
    pub allow_http: bool,
    /// Fixed answers for some host names, used instead of DNS and vetted like
    /// any other answer (tests; a local setup without a resolver).
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
    /// The deployment's own API (see [`own`]): never a target.
    pub own: Vec<OwnHost>,
}

/// Why an address is not a permitted target.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "the cloud metadata service",
        // Azure's host-service address (DHCP, DNS, health probes, the agent's
        // wire server) sits in public space, so no range rule catches it.
        _ if ip == Ipv4Addr::new(168, 63, 129, 16) => "a cloud host-service address",
        (0, _, _) => "an unspecified (0.0.0.0/8) address",
        (127, _, _) => "a loopback address",
        (10, _, _) | (192, 168, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "an IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(reason)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("the unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    let reason = match s[0] {
        // IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and
        // IPv4-compatible (::a.b.c.d) forms; the rest of ::/8 is reserved too.
        0 if s[1..4] == [0, 0, 0] && matches!((s[4], s[5]), (0, 0xffff) | (0xffff, 0) | (0, 0)) => {
            "an IPv4-mapped address"
        }
        x if x < 0x100 => "a reserved address",
        0x64 if s[1] == 0xff9b => "a NAT64 address",
        0x100 if s[1..4] == [0, 0, 0] => "a discard-only address",
        0x2001 if s[1] == 0 => "a Teredo address",
        0x2001 if s[1] == 0xdb8 => "a documentation address",
        0x2001 if s[1] < 0x200 => "an IETF protocol assignment",
        0x2002 => "a 6to4 address",
        0x3fff if s[1] < 0x1000 => "a documentation address",
        x if x & 0xfe00 == 0xfc00 => "a unique-local (private) address",
        x if x & 0xffc0 == 0xfe80 => "a link-local address",
        x if x & 0xffc0 == 0xfec0 => "a site-local address",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        // Only 2000::/3 is allocated for global unicast; everything else is reserved.
        x if x & 0xe000 != 0x2000 => "a reserved address",
        _ => return None,
    };
    Some(reason)
}

impl TargetPolicy {
    /// Builds the policy from a comma-separated CIDR list (bare addresses
    /// count as single hosts).
    pub fn new(allowed_cidrs: &str, allow_http: bool) -> Result<Self, String> {
        let allowed = allowed_cidrs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{s}` is not a CIDR"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed, allow_http, hosts: BTreeMap::new(), own: Vec::new() })
    }

    /// The addresses `name` resolves to: the fixed table when it names the
    /// host, else the system resolver.
    pub async fn lookup(&self, name: &str) -> std::io::Result<Vec<IpAddr>> {
        if let Some(fixed) = self.hosts.get(name.trim_end_matches('.')) {
            return Ok(fixed.clone());
        }
        Ok(tokio::net::lookup_host((name, 0)).await?.map(|sa| sa.ip()).collect())
    }

    /// True when the address sits in the development allow-list.
    pub fn is_allowed_private(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Refuses an address the deployment may not connect to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.is_allowed_private(ip) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            None => Ok(()),
            Some(reason) => {
                let hint = if matches!(reason, "a loopback address" | "a private address") {
                    " (to reach a receiver on this machine or network while developing, list its range in \
                     HOOKLINE_ALLOWED_PRIVATE_CIDRS, the AllowedPrivateCidrs parameter when deployed)"
                } else {
                    ""
                };
                Err(ApiError::invalid(
                    "forbidden_target",
                    format!("the endpoint resolves to {ip}, {reason}; webhooks may only target public addresses{hint}"),
                ))
            }
        }
    }

    /// Checks what can be known from the URL alone: syntax, scheme, no
    /// credentials, and the address when the host is an IP literal.
    pub fn check_url(&self, raw: &str) -> Result<Url, ApiError> {
        if raw.len() > MAX_URL_LEN {
            return Err(ApiError::invalid("invalid_url", format!("the URL is longer than {MAX_URL_LEN} characters")));
        }
        let url = Url::parse(raw.trim())
            .map_err(|e| ApiError::invalid("invalid_url", format!("`{}` is not a valid URL: {e}", clip(raw))))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ApiError::invalid("invalid_url", "the URL must start with https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiError::invalid(
                "invalid_url",
                "credentials in the URL are not allowed; send them as a custom header instead",
            ));
        }
        if url.fragment().is_some() {
            return Err(ApiError::invalid("invalid_url", "the URL must not have a #fragment"));
        }
        match url.host() {
            None => return Err(ApiError::invalid("invalid_url", "the URL has no host")),
            Some(host) => self.check_host(host)?,
        }
        Ok(url)
    }

    /// What can be said of a host without resolving it: an IP literal's
    /// address, or a name that can only mean this machine (unless loopback is
    /// allow-listed) or an internal network.
    pub fn check_host(&self, host: Host<&str>) -> Result<(), ApiError> {
        match host {
            Host::Ipv4(ip) => self.check_ip(IpAddr::V4(ip)),
            Host::Ipv6(ip) => self.check_ip(IpAddr::V6(ip)),
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let this_machine = name == "localhost" || name.ends_with(".localhost");
                let loopback_allowed = self.is_allowed_private(IpAddr::V4(Ipv4Addr::LOCALHOST));
                if (this_machine && !loopback_allowed) || name.ends_with(".internal") {
                    return Err(ApiError::invalid(
                        "forbidden_target",
                        format!(
                            "`{name}` names this machine or an internal network; webhooks may only target public hosts"
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Registration-time vetting: [`Self::check_url`], then every address the
    /// name resolves to right now. A name that does not resolve yet is
    /// accepted; the delivery client checks again at connect time.
    pub async fn vet_endpoint_url(&self, raw: &str) -> Result<Url, ApiError> {
        let url = self.check_url(raw)?;
        self.check_own(&url)?;
        let mut addresses = Vec::new();
        match url.host() {
            Some(Host::Ipv4(ip)) => addresses.push(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => addresses.push(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                if let Ok(Ok(found)) = tokio::time::timeout(Duration::from_secs(2), self.lookup(name)).await {
                    addresses.extend(found);
                }
            }
            None => {}
        }
        for ip in &addresses {
            self.check_ip(*ip)?;
        }
        self.check_own_addresses(&url, &addresses)?;
        let all_allowed_private = !addresses.is_empty() && addresses.iter().all(|ip| self.is_allowed_private(*ip));
        if url.scheme() == "http" && !self.allow_http && !all_allowed_private {
            return Err(ApiError::invalid("insecure_url", "endpoints must use https://"));
        }
        Ok(url)
    }
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> TargetPolicy {
        TargetPolicy::default()
    }

    fn refused_code(policy: &TargetPolicy, url: &str) -> String {
        policy.check_url(url).expect_err(url).code.into_owned()
    }

    #[test]
    fn loopback_private_and_metadata_literals_are_refused() {
        for url in [
            "https://127.0.0.1/hook",
            "https://127.255.0.9/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://168.63.129.16/machine?comp=goalstate",
            "https://[::ffff:168.63.129.16]/",
            "https://169.254.1.1/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:7f00:1::]/",
            "https://[ff02::1]/",
        ] {
            assert_eq!(refused_code(&strict(), url), "forbidden_target", "{url}");
        }
    }

    #[test]
    fn every_ipv6_form_that_carries_an_ipv4_address_is_refused() {
        for url in [
            "https://[::ffff:7f00:1]/",
            "https://[::ffff:0:127.0.0.1]/",
            "https://[::ffff:0:a00:1]/",
            "https://[::127.0.0.1]/",
            "https://[::8.8.8.8]/",
            "https://[64:ff9b:1::a9fe:a9fe]/",
            "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        ] {
            assert_eq!(refused_code(&strict(), url), "forbidden_target", "{url}");
        }
    }

    #[test]
    fn ipv6_outside_global_unicast_is_refused() {
        for url in [
            "https://[3fff::1]/",
            "https://[4000::1]/",
            "https://[5f00::1]/",
            "https://[e000::1]/",
            "https://[ff:1::]/",
        ] {
            assert_eq!(refused_code(&strict(), url), "forbidden_target", "{url}");
        }
    }

    #[tokio::test]
    async fn a_name_is_judged_by_every_address_it_resolves_to() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut policy = strict();
        policy.hosts.insert("hooks.example.com".into(), vec![ip("93.184.216.34")]);
        policy.hosts.insert("rebind.example.com".into(), vec![ip("93.184.216.34"), ip("169.254.169.254")]);
        assert!(policy.vet_endpoint_url("https://hooks.example.com/in").await.is_ok());
        let err = policy.vet_endpoint_url("https://rebind.example.com./in").await.unwrap_err();
        assert_eq!(err.code, "forbidden_target");
        assert!(err.detail.contains("169.254.169.254"), "{}", err.detail);
    }

    #[test]
    fn odd_ipv4_spellings_are_normalised_then_refused() {
        for url in [
            "https://2130706433/",
            "https://0x7f000001/",
            "https://017700000001/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://0177.0.0.1/",
            "https://2852039166/",
            "https://0xa9.0xfe.0xa9.0xfe/",
        ] {
            assert_eq!(refused_code(&strict(), url), "forbidden_target", "{url}");
        }
    }

    #[test]
    fn local_names_are_refused_without_resolving() {
        for url in ["https://localhost/", "https://api.localhost./x", "https://metadata.google.internal/"] {
            assert_eq!(refused_code(&strict(), url), "forbidden_target", "{url}");
        }
    }

    #[test]
    fn localhost_is_a_target_only_when_loopback_is_allow_listed() {
        let dev = TargetPolicy::new("127.0.0.1/32", false).unwrap();
        assert!(dev.check_url("http://localhost:9000/hook").is_ok());
        assert_eq!(refused_code(&dev, "https://metadata.google.internal/"), "forbidden_target");
        let private_only = TargetPolicy::new("10.0.0.0/8", false).unwrap();
        assert_eq!(refused_code(&private_only, "https://localhost/"), "forbidden_target");
    }

    #[test]
    fn malformed_urls_say_so() {
        for url in
            ["not a url", "ftp://example.com/", "https://user:pw@example.com/", "https://example.com/#x", "https://"]
        {
            assert_eq!(refused_code(&strict(), url), "invalid_url", "{url}");
        }
    }

    #[test]
    fn public_targets_pass() {
        assert!(strict().check_url("https://hooks.example.com/in?x=1").is_ok());
        assert!(strict().check_url("https://93.184.216.34/").is_ok());
        assert!(strict().check_url("https://[2606:4700::1111]/").is_ok());
    }

    #[test]
    fn the_allow_list_opens_only_its_own_ranges() {
        let policy = TargetPolicy::new("127.0.0.1/32, 10.9.0.0/16", false).unwrap();
        assert!(policy.check_url("http://127.0.0.1:8080/").is_ok());
        assert!(policy.check_url("https://10.9.3.4/").is_ok());
        assert_eq!(refused_code(&policy, "https://127.0.0.2/"), "forbidden_target");
        assert_eq!(refused_code(&policy, "https://10.8.0.1/"), "forbidden_target");
        assert!(policy.check_url("http://[::ffff:127.0.0.1]:9/").is_ok());
    }

    #[tokio::test]
    async fn plain_http_is_refused_unless_allowed() {
        let err = strict().vet_endpoint_url("http://93.184.216.34/").await.unwrap_err();
        assert_eq!(err.code, "insecure_url");
        let open = TargetPolicy { allow_http: true, ..TargetPolicy::default() };
        assert!(open.vet_endpoint_url("http://93.184.216.34/").await.is_ok());
        let dev = TargetPolicy::new("127.0.0.0/8", false).unwrap();
        assert!(dev.vet_endpoint_url("http://127.0.0.1:9000/hook").await.is_ok());
    }

    #[test]
    fn a_loopback_refusal_says_how_to_reach_a_local_receiver() {
        let err = strict().check_url("http://127.0.0.1:9000/hook").unwrap_err();
        assert!(err.detail.contains("HOOKLINE_ALLOWED_PRIVATE_CIDRS"), "{}", err.detail);
        let metadata = strict().check_url("http://169.254.169.254/").unwrap_err();
        assert!(
            !metadata.detail.contains("HOOKLINE_ALLOWED_PRIVATE_CIDRS"),
            "never a hint to open the metadata service"
        );
    }

    #[test]
    fn a_bad_allow_list_is_reported() {
        assert!(TargetPolicy::new("nonsense", false).is_err());
        assert_eq!(TargetPolicy::new("", false).unwrap().allowed.len(), 0);
        assert_eq!(TargetPolicy::new("127.0.0.1", false).unwrap().allowed.len(), 1);
    }
}
