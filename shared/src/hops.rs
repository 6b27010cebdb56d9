//! Webhook loops: how many times Hookline has already carried a chain of
//! webhooks, told by a header only this deployment can make.
//!
//! Every delivery carries `X-Hookline-Hop: v1,<hops>,<tag>`, where `tag` is
//! an HMAC, under a key derived from the data key, of the hop count and the
//! delivery id (`webhook-id`). Inbound receipt verifies it: a valid header
//! says the webhook is one Hookline itself sent, `hops` times over, and past
//! [`MAX_HOPS`] it is refused. An invalid or foreign header counts as zero:
//! it cannot be trusted, and a real loop always carries a valid one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::crypto::SecretBox;

/// The header, lower-case as HTTP/2 sends it.
pub const HOP_HEADER: &str = "x-hookline-hop";
/// Deliveries a chain may take through this deployment; the webhook that
/// arrives after the last one is refused.
pub const MAX_HOPS: u32 = 3;

fn message(hops: u32, webhook_id: &str) -> Vec<u8> {
    format!("v1.{hops}.{webhook_id}").into_bytes()
}

/// The header value a delivery carries: `hops` counts this delivery.
pub fn header_value(sealer: &SecretBox, hops: u32, webhook_id: &str) -> String {
    let tag = sealer.mac(&message(hops, webhook_id));
    format!("v1,{hops},{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The hop count of a received webhook: the header's count when this
/// deployment made it for this `webhook_id`, otherwise 0.
pub fn verified_hops(sealer: &SecretBox, value: Option<&str>, webhook_id: Option<&str>) -> u32 {
    let (Some(value), Some(id)) = (value, webhook_id) else { return 0 };
    let mut parts = value.trim().splitn(3, ',');
    let (Some("v1"), Some(hops), Some(tag)) = (parts.next(), parts.next(), parts.next()) else { return 0 };
    let (Ok(hops), Ok(tag)) = (hops.parse::<u32>(), URL_SAFE_NO_PAD.decode(tag)) else { return 0 };
    if sealer.verify_mac(&message(hops, id), &tag) {
        hops
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_this_deployment_made_gives_its_count() {
        let sealer = SecretBox::from_data_key("k");
        let value = header_value(&sealer, 2, "dlv_1");
        assert_eq!(verified_hops(&sealer, Some(&value), Some("dlv_1")), 2);
    }

    #[test]
    fn forged_moved_or_foreign_headers_count_as_zero() {
        let sealer = SecretBox::from_data_key("k");
        let value = header_value(&sealer, 2, "dlv_1");
        assert_eq!(verified_hops(&sealer, Some(&value), Some("dlv_2")), 0, "moved to another delivery");
        assert_eq!(verified_hops(&SecretBox::from_data_key("other"), Some(&value), Some("dlv_1")), 0);
        let raised = value.replacen(",2,", ",9,", 1);
        assert_eq!(verified_hops(&sealer, Some(&raised), Some("dlv_1")), 0, "count changed");
        for junk in ["", "v1", "v1,x,y", "v2,1,AAAA", "v1,1,!!!"] {
            assert_eq!(verified_hops(&sealer, Some(junk), Some("dlv_1")), 0, "{junk}");
        }
        assert_eq!(verified_hops(&sealer, Some(&value), None), 0);
    }
}
