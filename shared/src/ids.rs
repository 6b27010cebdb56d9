//! Typed, prefixed ids (`ep_…`, `evt_…`, `dlv_…`) that sort by creation time.
//!
//! The suffix is 26 characters of lowercase Crockford base32 over 48 bits of
//! milliseconds and 80 random bits, so ids created later sort later and an
//! endpoint id can never be passed where a delivery id is wanted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Length of the random, time-sortable part after the prefix.
pub const SUFFIX_LEN: usize = 26;

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf
}

fn sortable_suffix(millis: u64) -> String {
    let random = random_bytes::<10>();
    let mut value: u128 = (millis as u128 & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= (*b as u128) << (8 * (9 - i));
    }
    (0..SUFFIX_LEN).rev().map(|i| ALPHABET[((value >> (5 * i)) & 31) as usize] as char).collect()
}

fn valid_suffix_chars(s: &str) -> bool {
    s.bytes().all(|b| ALPHABET.contains(&b))
}

/// The id text did not have the expected prefix and shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {prefix}… id")]
pub struct InvalidId {
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        prefixed_id!($(#[$doc])* $name, $prefix, SUFFIX_LEN);
    };
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new id for something created now.
            pub fn generate() -> Self {
                Self::generate_at(chrono::Utc::now().timestamp_millis().max(0) as u64)
            }

            /// A new id for something created at `millis` (imports, back-dated test data).
            pub fn generate_at(millis: u64) -> Self {
                Self(format!("{}{}", $prefix, sortable_suffix(millis)))
            }

            /// The id as text, prefix included.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                match s.strip_prefix($prefix) {
                    Some(rest) if rest.len() == $len && valid_suffix_chars(rest) => Ok(Self(s.to_owned())),
                    _ => Err(InvalidId { prefix: $prefix, value: s.chars().take(64).collect() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// An outbound endpoint (`ep_…`).
    EndpointId,
    "ep_"
);
prefixed_id!(
    /// A published event (`evt_…`).
    EventId,
    "evt_"
);
prefixed_id!(
    /// One event's delivery to one endpoint (`dlv_…`): the event's suffix
    /// then the endpoint's, so it is derived, never stored twice, sorts by
    /// event time, and names its endpoint.
    DeliveryId,
    "dlv_",
    2 * SUFFIX_LEN
);
prefixed_id!(
    /// An inbound source (`src_…`).
    SourceId,
    "src_"
);
prefixed_id!(
    /// One received inbound webhook (`inb_…`).
    InboundId,
    "inb_"
);
prefixed_id!(
    /// An admin API key (`key_…`); the secret token itself is never an id.
    ApiKeyId,
    "key_"
);

impl DeliveryId {
    /// The one delivery of `event` to `endpoint`: the same inputs always
    /// give the same id, so a replayed fan-out cannot make a second one.
    pub fn for_event(event: &EventId, endpoint: &EndpointId) -> Self {
        let event_suffix = &event.as_str()[EventId::PREFIX.len()..];
        let endpoint_suffix = &endpoint.as_str()[EndpointId::PREFIX.len()..];
        Self(format!("{}{event_suffix}{endpoint_suffix}", Self::PREFIX))
    }

    /// The endpoint this delivery goes to.
    pub fn endpoint_id(&self) -> EndpointId {
        EndpointId(format!("{}{}", EndpointId::PREFIX, &self.0[Self::PREFIX.len() + SUFFIX_LEN..]))
    }

    /// The event this delivery carries.
    pub fn event_id(&self) -> EventId {
        EventId(format!("{}{}", EventId::PREFIX, &self.0[Self::PREFIX.len()..Self::PREFIX.len() + SUFFIX_LEN]))
    }

    /// When the delivered event was created (epoch milliseconds).
    pub fn event_millis(&self) -> u64 {
        suffix_millis(&self.0[Self::PREFIX.len()..])
    }

    /// The smallest delivery id of an event created at or after `millis`,
    /// for "since" range queries.
    pub fn lower_bound(millis: u64) -> String {
        time_lower_bound(Self::PREFIX, millis)
    }
}

/// The creation time (epoch milliseconds) carried by an id's suffix.
pub fn suffix_millis(suffix: &str) -> u64 {
    suffix.bytes().take(10).fold(0u64, |acc, b| {
        let digit = ALPHABET.iter().position(|a| *a == b).unwrap_or(0) as u64;
        (acc << 5) | digit
    })
}

/// The smallest id with `prefix` created at or after `millis`: the first ten
/// suffix characters carry the time, so this bounds "since" range queries.
pub fn time_lower_bound(prefix: &str, millis: u64) -> String {
    let full = sortable_suffix(millis);
    format!("{prefix}{}", &full[..10])
}

/// The tenant every query is scoped by. Chosen by an operator (`acme`) or
/// generated (`ten_…`); lowercase letters, digits, `_` and `-`, up to 64.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// The tenant the bootstrap admin key belongs to.
    pub fn default_tenant() -> Self {
        Self("default".into())
    }

    /// A fresh tenant id.
    pub fn generate() -> Self {
        let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
        Self(format!("ten_{}", sortable_suffix(millis)))
    }

    /// The tenant id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId { prefix: "tenant", value: s.chars().take(64).collect() })
        }
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        s.parse()
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> String {
        id.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_round_trip() {
        let id = EndpointId::generate();
        assert!(id.as_str().starts_with("ep_"));
        assert_eq!(id.as_str().len(), 3 + SUFFIX_LEN);
        assert_eq!(id.as_str().parse::<EndpointId>().unwrap(), id);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let evt = EventId::generate();
        assert!(evt.as_str().parse::<EndpointId>().is_err());
        assert!("ep_short".parse::<EndpointId>().is_err());
        assert!("ep_ABCDEFGHJKMNPQRSTVWXYZ0123".parse::<EndpointId>().is_err());
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let earlier = format!("ep_{}", sortable_suffix(1_700_000_000_000));
        let later = format!("ep_{}", sortable_suffix(1_700_000_000_001));
        assert!(earlier < later);
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = DeliveryId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert!(serde_json::from_str::<DeliveryId>("\"evt_x\"").is_err());
    }

    #[test]
    fn delivery_ids_derive_from_event_and_endpoint() {
        let event = EventId::generate();
        let endpoint = EndpointId::generate();
        let id = DeliveryId::for_event(&event, &endpoint);
        assert_eq!(id, DeliveryId::for_event(&event, &endpoint));
        assert_eq!(id.endpoint_id(), endpoint);
        assert_eq!(id.event_id(), event);
        assert_eq!(id.as_str().parse::<DeliveryId>().unwrap(), id);
        assert!(DeliveryId::lower_bound(0).as_str() < id.as_str());
        let at = format!("ep_{}", sortable_suffix(1_795_000_000_123));
        assert_eq!(suffix_millis(&at[3..]), 1_795_000_000_123);
    }

    #[test]
    fn tenant_ids_are_url_safe() {
        assert!("acme-health_1".parse::<TenantId>().is_ok());
        assert!("Acme".parse::<TenantId>().is_err());
        assert!("a/b".parse::<TenantId>().is_err());
        assert!("".parse::<TenantId>().is_err());
        assert!(TenantId::generate().as_str().starts_with("ten_"));
    }
}
