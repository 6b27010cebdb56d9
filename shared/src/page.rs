//! Cursor pagination: `?limit=` (1 to 250, default 50) and an opaque `?cursor=`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

pub const MAX_LIMIT: usize = 250;
pub const DEFAULT_LIMIT: usize = 50;

/// One page's request: how many, and the sort key to continue after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

/// The body of every list route.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl PageRequest {
    /// Reads `limit` and `cursor` query values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
        let after =
            match cursor.filter(|c| !c.is_empty()) {
                None => None,
                Some(raw) => {
                    Some(URL_SAFE_NO_PAD.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
                        ApiError::bad_request("invalid_cursor", "cursor is not one this API handed out")
                    })?)
                }
            };
        Ok(Self { limit, after })
    }
}

impl<T> ListResponse<T> {
    /// One page from up to `limit + 1` items fetched in order: keeps
    /// `limit`, and when there was one more, points the cursor after the last
    /// kept item (its sort key from `key`). `view` turns each into what is shown.
    pub fn page<R>(mut found: Vec<R>, limit: usize, key: impl Fn(&R) -> String, view: impl Fn(&R) -> T) -> Self {
        let next_cursor = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self { data: found.iter().map(view).collect(), next_cursor }
    }
}

/// The cursor that continues after `sort_key`.
pub fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let page = PageRequest::parse(Some("10"), Some(&encode_cursor("ep_123"))).unwrap();
        assert_eq!(page, PageRequest { limit: 10, after: Some("ep_123".into()) });
    }

    #[test]
    fn a_page_points_past_its_last_item_only_when_more_exist() {
        let full = ListResponse::page(vec![1, 2, 3], 2, |n| n.to_string(), |n| n * 10);
        assert_eq!(full.data, [10, 20]);
        assert_eq!(full.next_cursor, Some(encode_cursor("2")));
        let last = ListResponse::page(vec![1, 2], 2, |n| n.to_string(), |n| *n);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        for bad in ["0", "251", "-1", "ten"] {
            assert_eq!(PageRequest::parse(Some(bad), None).unwrap_err().code, "invalid_limit");
        }
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(PageRequest::parse(None, Some("%%%")).unwrap_err().code, "invalid_cursor");
    }
}
