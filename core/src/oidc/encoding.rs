//! The two text encodings the provider reads and writes besides JSON: percent-encoding (query
//! strings, form bodies, the `Basic` credentials of RFC 6749 §2.3.1) and unpadded base64url
//! (JWTs, PKCE). Small enough to own here rather than add a URL crate to the core.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Percent-encodes everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _
/// ~`), so the result is safe as a query component whatever it holds.
pub fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }
    out
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte);
/// `None` for a broken escape or bytes that are not UTF-8.
pub fn form_decode(component: &str) -> Option<String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits and decodes a query string or form body into its pairs, in order (repeats kept:
/// [`super::Params`] decides about them). `None` if any component is badly encoded.
pub fn parse_form(body: &str) -> Option<Vec<(String, String)>> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

/// Unpadded base64url.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; padding, other alphabets and non-canonical trailing bits are
/// refused, so one value has exactly one encoding.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters_and_form_decoding_reverses_it() {
        // GIVEN a value with reserved, space and non-ASCII characters
        let value = "a b&c=d/é?#+~._-";
        // WHEN it is encoded
        let encoded = percent_encode(value);
        // THEN nothing reserved is left and decoding gives the value back
        assert_eq!(encoded, "a%20b%26c%3Dd%2F%C3%A9%3F%23%2B~._-");
        assert_eq!(form_decode(&encoded).as_deref(), Some(value));
        assert_eq!(form_decode("a+b").as_deref(), Some("a b"));
        for broken in ["%", "%4", "%zz", "%ff"] {
            assert_eq!(form_decode(broken), None, "{broken}");
        }
    }

    #[test]
    fn a_form_body_splits_into_decoded_pairs_in_order() {
        let pairs = parse_form("a=1&b=x%20y&&c&a=2").expect("well formed");
        let expected = [("a", "1"), ("b", "x y"), ("c", ""), ("a", "2")];
        assert_eq!(pairs.len(), expected.len());
        for ((name, value), (n, v)) in pairs.iter().zip(expected) {
            assert_eq!((name.as_str(), value.as_str()), (n, v));
        }
        assert_eq!(parse_form("a=%G0"), None);
    }

    #[test]
    fn base64url_refuses_padding_and_the_standard_alphabet() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("-_8="), None);
        assert_eq!(b64url_decode("+/8"), None);
        assert_eq!(b64url_decode("-_9"), None, "non-canonical trailing bits");
    }
}
