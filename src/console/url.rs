//! URLs the console writes and reads back: a path as a query value, and a "back to" path
//! that can only lead within the console.

/// Percent-encodes everything but unreserved characters and `/`, for a path in a query.
pub(crate) fn percent(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A path on this console to go back to, or `/` for anything else (no open redirect).
pub(crate) fn local_path(raw: &str) -> &str {
    if raw.starts_with('/') && !raw.starts_with("//") && !raw.contains('\\') {
        raw
    } else {
        "/"
    }
}
