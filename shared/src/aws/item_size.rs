//! DynamoDB's item size, counted as DynamoDB counts it: UTF-8 bytes of
//! every attribute name and value. The emulator's limit is looser than the
//! service's and its reported capacity is a constant, so Hookline counts
//! itself: every item is measured before it is written.

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::Item;

/// The largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The size DynamoDB gives the item (and bills: a write unit per started KB).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, v)| name.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    use AttributeValue as A;
    match v {
        A::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        A::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        A::B(b) => b.as_ref().len(),
        A::Bool(_) | A::Null(_) => 1,
        A::Ss(v) => v.iter().map(String::len).sum(),
        A::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        A::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        // Lists and maps: 3 bytes, and 1 per element besides its own size.
        A::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        A::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value_size(x)).sum::<usize>(),
        _ => 8,
    }
}

/// The size `value` takes as an item, as Hookline writes it.
pub fn stored_size<T: serde::Serialize>(value: &T) -> Result<usize, String> {
    let item: Item = serde_dynamo::to_item(value).map_err(|e| e.to_string())?;
    Ok(item_size(&item))
}

/// Write units a standard write of the item costs.
pub fn write_units(item: &Item) -> usize {
    item_size(item).div_ceil(1024).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn names_and_values_count_in_bytes() {
        let item = Item::from([
            ("id".to_owned(), AttributeValue::S("é".repeat(10))),
            ("n".to_owned(), AttributeValue::N("12345".into())),
            ("b".to_owned(), AttributeValue::B(Blob::new(vec![0u8; 100]))),
        ]);
        assert_eq!(item_size(&item), (2 + 20) + (1 + 4) + (1 + 100));
        assert_eq!(write_units(&item), 1);
        let big = Item::from([("x".to_owned(), AttributeValue::S("a".repeat(1024)))]);
        assert_eq!(write_units(&big), 2, "1,025 bytes start a second unit");
    }
}
