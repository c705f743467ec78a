//! Timestamps as the API writes them.

/// RFC 3339 form of a Unix time, for JSON answers (`expires_at`, `created_at`, …).
pub fn rfc3339(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
