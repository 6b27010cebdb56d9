//! The deployment's own API as a forbidden target: an endpoint that points
//! at Hookline's inbound URL turns one webhook into an endless chain.
//!
//! The names come from `HOOKLINE_OWN_HOSTS` (the HTTP API's host and every
//! custom domain; `hookline dev` sets its own address), and the admin API
//! adds the host each request arrived on. A name is matched as written; a
//! loopback entry with a port also catches every spelling of loopback at
//! that port, which is what `hookline dev` listens on.

use std::net::IpAddr;

use url::{Host, Url};

use super::{canonical, TargetPolicy};
use crate::error::ApiError;

/// One host of the deployment's own API; `port` `None` matches any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnHost {
    name: String,
    port: Option<u16>,
}

impl OwnHost {
    /// Parses `host`, `host:port` or `[v6]:port`.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let url = Url::parse(&format!("http://{entry}/")).map_err(|_| format!("`{entry}` is not a host"))?;
        let name = match url.host() {
            Some(host) => host_name(&host),
            None => return Err(format!("`{entry}` is not a host")),
        };
        // `Url` drops a port that is the scheme's default; say it back.
        let port = url.port().or_else(|| entry.ends_with(":80").then_some(80));
        Ok(Self { name, port })
    }

    fn is_loopback(&self) -> bool {
        self.name == "localhost" || self.name.parse::<IpAddr>().is_ok_and(|ip| canonical(ip).is_loopback())
    }
}

fn host_name(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => canonical(IpAddr::V6(*ip)).to_string(),
    }
}

fn refusal(shown: &str) -> ApiError {
    ApiError::invalid(
        "own_api_target",
        format!("`{shown}` is this Hookline deployment's own API; a webhook sent there would come back as a webhook"),
    )
}

impl TargetPolicy {
    /// Adds the comma-separated `HOOKLINE_OWN_HOSTS` list.
    pub fn with_own_hosts(mut self, list: &str) -> Result<Self, String> {
        for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
            self.own.push(OwnHost::parse(entry)?);
        }
        Ok(self)
    }

    /// This policy with the host a request to the admin API arrived on
    /// (its `domainName`) added: on AWS the API's own name is known there.
    /// A bare loopback name is skipped, since it would cover every local port.
    pub fn with_request_host(&self, host: &str) -> Self {
        let mut policy = self.clone();
        if let Ok(own) = OwnHost::parse(host) {
            let bare_loopback = own.is_loopback() && own.port.is_none();
            if !bare_loopback && !policy.own.contains(&own) {
                policy.own.push(own);
            }
        }
        policy
    }

    /// Refuses a URL whose host and port name the deployment's own API.
    pub fn check_own(&self, url: &Url) -> Result<(), ApiError> {
        let Some(host) = url.host() else { return Ok(()) };
        let name = host_name(&host);
        let port = url.port_or_known_default();
        let loopback = name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| canonical(ip).is_loopback());
        for own in &self.own {
            let port_matches = own.port.is_none() || own.port == port;
            let same_host = own.name == name || (own.is_loopback() && loopback);
            if port_matches && same_host {
                return Err(refusal(&name));
            }
        }
        Ok(())
    }

    /// Refuses addresses that reach a loopback entry's port under another
    /// name; `addresses` are what the URL's host resolves to.
    pub fn check_own_addresses(&self, url: &Url, addresses: &[IpAddr]) -> Result<(), ApiError> {
        let port = url.port_or_known_default();
        let at_own_port = self.own.iter().any(|own| own.is_loopback() && own.port.is_some() && own.port == port);
        match addresses.iter().find(|ip| at_own_port && canonical(**ip).is_loopback()) {
            Some(ip) => Err(refusal(&ip.to_string())),
            None => Ok(()),
        }
    }

    /// Whether some own entry could be reached at this URL's port through a
    /// name that only DNS can tell (so the caller should resolve and ask
    /// [`Self::check_own_addresses`]).
    pub fn own_port_needs_lookup(&self, url: &Url) -> bool {
        let port = url.port_or_known_default();
        matches!(url.host(), Some(Host::Domain(_)))
            && self.own.iter().any(|own| own.is_loopback() && own.port.is_some() && own.port == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(own: &str) -> TargetPolicy {
        TargetPolicy::new("127.0.0.0/8", true).unwrap().with_own_hosts(own).unwrap()
    }

    fn code(p: &TargetPolicy, url: &str) -> Option<String> {
        p.check_own(&Url::parse(url).unwrap()).err().map(|e| e.code.into_owned())
    }

    #[test]
    fn the_api_host_and_custom_domains_are_refused_on_any_port_and_path() {
        let p = policy("abc123.execute-api.eu-west-1.amazonaws.com, hooks.acme.com");
        for url in [
            "https://abc123.execute-api.eu-west-1.amazonaws.com/api/v1/webhooks/crm",
            "https://ABC123.execute-api.eu-west-1.amazonaws.com./x",
            "https://hooks.acme.com:8443/api/v1/webhooks/crm",
        ] {
            assert_eq!(code(&p, url).as_deref(), Some("own_api_target"), "{url}");
        }
        assert_eq!(code(&p, "https://other.execute-api.eu-west-1.amazonaws.com/"), None, "another API is fine");
        assert_eq!(code(&p, "https://api.acme.com/"), None);
    }

    #[test]
    fn a_local_stack_refuses_every_spelling_of_loopback_at_its_own_port_only() {
        let p = policy("127.0.0.1:4000");
        for url in ["http://127.0.0.1:4000/", "http://localhost:4000/", "http://[::1]:4000/", "http://127.0.0.2:4000/"]
        {
            assert_eq!(code(&p, url).as_deref(), Some("own_api_target"), "{url}");
        }
        assert_eq!(code(&p, "http://127.0.0.1:9000/"), None, "a local receiver on another port");
        let url = Url::parse("http://my-alias.test:4000/").unwrap();
        assert!(p.own_port_needs_lookup(&url));
        let err = p.check_own_addresses(&url, &["127.0.0.1".parse().unwrap()]).unwrap_err();
        assert_eq!(err.code, "own_api_target");
        assert!(p.check_own_addresses(&url, &["93.184.216.34".parse().unwrap()]).is_ok());
    }

    #[test]
    fn the_host_a_request_arrived_on_is_added_unless_it_is_bare_loopback() {
        let p = policy("").with_request_host("abc123.execute-api.eu-west-1.amazonaws.com");
        assert_eq!(
            code(&p, "https://abc123.execute-api.eu-west-1.amazonaws.com/api/v1/webhooks/x").as_deref(),
            Some("own_api_target")
        );
        let local = policy("").with_request_host("localhost");
        assert_eq!(code(&local, "http://127.0.0.1:9000/"), None, "a bare localhost would cover every port");
        assert!(policy("").with_request_host("not a host").own.is_empty());
    }

    #[test]
    fn entries_that_are_not_hosts_are_reported() {
        assert!(TargetPolicy::default().with_own_hosts("bad host").is_err());
        assert_eq!(TargetPolicy::default().with_own_hosts(" , ").unwrap().own.len(), 0);
    }
}
