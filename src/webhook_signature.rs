//! Standard Webhooks: `HMAC-SHA256(key, "{id}.{timestamp}.{body}")`, base64, sent as
//! `v1,<sig>` (several, space-separated). Any listed signature matching any key passes;
//! comparison is constant-time; the timestamp must be within ±5 minutes. The one signer and
//! verifier of the service (and of its simulator); keys are configured as `whsec_<base64>`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use secrecy::zeroize::Zeroizing;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const TOLERANCE_SECS: i64 = 5 * 60;
const MAX_ID_LEN: usize = 256;
const MAX_SIGNATURES: usize = 16;
/// Shortest key accepted from a `whsec_` secret.
const MIN_KEY_LEN: usize = 16;
/// Exactly the secrets [`WebhookKey::from_whsec`] takes: `whsec_` and the canonical, padded
/// base64 of at least 16 bytes (five groups of four and a padded tail of one or two bytes, or six
/// groups or more; the tail's last character carries no stray bits).
pub const WHSEC_PATTERN: &str = "^whsec_(([A-Za-z0-9+/]{4}){5,}([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)|([A-Za-z0-9+/]{4}){6,})$";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or empty {0} header")]
    MissingHeader(&'static str),
    #[error("webhook-id is not a valid id")]
    InvalidId,
    #[error("webhook-timestamp is not a unix timestamp")]
    InvalidTimestamp,
    #[error("webhook-timestamp is outside the 5 minute tolerance")]
    OutsideTolerance,
    #[error("no valid v1 signature matches")]
    NoMatch,
}

/// Why a `whsec_` secret is not a usable key (never shows the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("each secret must start with whsec_")]
    MissingPrefix,
    #[error("the part after whsec_ is not valid base64")]
    NotBase64,
    #[error("secret is shorter than 16 bytes")]
    TooShort,
}

/// A webhook signing key, kept as the HMAC state keyed with it: each signature clones the state
/// instead of hashing the key again. The state is as secret as the key; it never prints
/// (`Debug` is redacted).
#[derive(Clone)]
pub struct WebhookKey(Hmac<Sha256>);

impl WebhookKey {
    /// A key of raw bytes (any length).
    pub fn new(key: &[u8]) -> WebhookKey {
        WebhookKey(Hmac::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// The key of a `whsec_<base64>` secret: the prefix is required and the decoded key must
    /// have at least 16 bytes.
    pub fn from_whsec(secret: &str) -> Result<WebhookKey, KeyError> {
        let encoded = secret.strip_prefix("whsec_").ok_or(KeyError::MissingPrefix)?;
        let key = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?);
        if key.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort);
        }
        Ok(WebhookKey::new(&key))
    }

    /// `v1,<base64>` for one delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.tag(id, &timestamp.to_string(), body);
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// The HMAC of `{id}.{timestamp}.{body}`, the timestamp as sent.
    fn tag(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey([REDACTED])")
    }
}

/// The three Standard Webhooks headers, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// `v1,<base64>` for one key of raw bytes.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    WebhookKey::new(key).sign(id, timestamp, body)
}

/// A `webhook-id` we accept and store: at most 256 visible ASCII characters.
pub fn is_valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN && id.chars().all(|c| c.is_ascii_graphic())
}

/// Verify a delivery. Returns the webhook id on success.
pub fn verify<'a>(keys: &[WebhookKey], h: SignedHeaders<'a>, body: &[u8], now: i64) -> Result<&'a str, SignatureError> {
    let id = h.id.map(str::trim).filter(|s| !s.is_empty()).ok_or(SignatureError::MissingHeader("webhook-id"))?;
    if !is_valid_id(id) {
        return Err(SignatureError::InvalidId);
    }
    let ts_raw = h
        .timestamp
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingHeader("webhook-timestamp"))?;
    let signatures = h
        .signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingHeader("webhook-signature"))?;
    let ts: i64 = ts_raw.parse().map_err(|_| SignatureError::InvalidTimestamp)?;
    // `abs_diff`: a timestamp near i64::MIN or MAX must not overflow the subtraction.
    if now.abs_diff(ts) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance);
    }
    // Each listed `v1` signature decoded on the stack; anything that is not 32 bytes of base64
    // cannot match and is skipped.
    let mut candidates = [[0u8; 32]; MAX_SIGNATURES];
    let mut count = 0;
    for b64 in signatures.split_whitespace().take(MAX_SIGNATURES).filter_map(|s| s.strip_prefix("v1,")) {
        let mut buf = [0u8; 33];
        if let Ok(32) = STANDARD.decode_slice(b64, &mut buf) {
            candidates[count].copy_from_slice(&buf[..32]);
            count += 1;
        }
    }
    for key in keys {
        let expected = key.tag(id, ts_raw, body);
        // Constant-time per candidate; which candidate matched is not secret.
        if candidates[..count].iter().any(|sig| bool::from(sig.ct_eq(&expected))) {
            return Ok(id);
        }
    }
    Err(SignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn key(bytes: &[u8]) -> WebhookKey {
        WebhookKey::new(bytes)
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignedHeaders<'a> {
        SignedHeaders { id: Some(id), timestamp: Some(ts), signature: Some(sig) }
    }

    #[test]
    fn a_signature_from_the_signer_verifies_and_a_tampered_body_does_not() {
        let k = b"0123456789abcdef0123";
        let sig = sign(k, "msg_1", 1_700_000_000, b"{}");
        assert_eq!(verify(&[key(k)], headers("msg_1", "1700000000", &sig), b"{}", 1_700_000_010), Ok("msg_1"));
        assert_eq!(
            verify(&[key(k)], headers("msg_1", "1700000000", &sig), b"{ }", 1_700_000_010),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn any_listed_signature_with_any_key_passes() {
        let (old, new) = (b"old-key-0123456789".as_slice(), b"new-key-0123456789".as_slice());
        let sig = format!("v1,AAAA {} v2,zzz", sign(new, "m", 100, b"x"));
        assert!(verify(&[key(old), key(new)], headers("m", "100", &sig), b"x", 100).is_ok());
    }

    #[test]
    fn only_an_exact_32_byte_tag_in_canonical_base64_passes() {
        let k = b"0123456789abcdef0123";
        let sig = sign(k, "m", 100, b"x");
        let tag = STANDARD.decode(&sig[3..]).unwrap();
        let check = |signature: &str| verify(&[key(k)], headers("m", "100", signature), b"x", 100).map(str::len);
        assert_eq!(check(&sig), Ok(1));
        // The right tag with a byte appended, or cut short, or without its padding: no match.
        let mut longer = tag.clone();
        longer.push(0);
        assert_eq!(check(&format!("v1,{}", STANDARD.encode(&longer))), Err(SignatureError::NoMatch));
        assert_eq!(check(&format!("v1,{}", STANDARD.encode(&tag[..31]))), Err(SignatureError::NoMatch));
        assert_eq!(check(sig.trim_end_matches('=')), Err(SignatureError::NoMatch));
        // Another scheme's prefix with the right tag does not count either.
        assert_eq!(check(&sig.replacen("v1,", "v2,", 1)), Err(SignatureError::NoMatch));
    }

    #[test]
    fn only_the_first_16_listed_signatures_are_tried() {
        let k = b"0123456789abcdef0123";
        let sig = sign(k, "m", 100, b"x");
        let junk = vec!["v1,AAAA"; 15].join(" ");
        let sixteenth = format!("{junk} {sig}");
        assert_eq!(verify(&[key(k)], headers("m", "100", &sixteenth), b"x", 100), Ok("m"));
        let seventeenth = format!("{junk} v1,BBBB {sig}");
        assert_eq!(verify(&[key(k)], headers("m", "100", &seventeenth), b"x", 100), Err(SignatureError::NoMatch));
    }

    #[test]
    fn the_documented_pattern_is_exactly_what_from_whsec_takes() {
        let pattern = regex::Regex::new(WHSEC_PATTERN).unwrap();
        for len in 0..40usize {
            for fill in [0u8, 0xff, 0x5a] {
                let secret = format!("whsec_{}", STANDARD.encode(vec![fill; len]));
                assert_eq!(pattern.is_match(&secret), WebhookKey::from_whsec(&secret).is_ok(), "{len} bytes: {secret}");
            }
        }
        for odd in [
            "whsec_AAAAAAAAAAAAAAAAAAAAAB==",
            "whsec_AAAAAAAAAAAAAAAAAAAAAAA",
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
        ] {
            assert_eq!(pattern.is_match(odd), WebhookKey::from_whsec(odd).is_ok(), "{odd}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_secret_of_the_pattern_is_a_key(secret in proptest::string::string_regex(WHSEC_PATTERN.trim_start_matches('^').trim_end_matches('$')).unwrap()) {
            proptest::prop_assert!(WebhookKey::from_whsec(&secret).is_ok(), "{}", secret);
        }
    }

    #[test]
    fn a_whsec_secret_decodes_to_its_key_and_bad_ones_say_why() {
        let secret = format!("whsec_{}", STANDARD.encode(b"0123456789abcdef"));
        let sig = WebhookKey::from_whsec(&secret).unwrap().sign("m", 100, b"x");
        assert_eq!(sig, sign(b"0123456789abcdef", "m", 100, b"x"));
        assert_eq!(WebhookKey::from_whsec("plain").unwrap_err(), KeyError::MissingPrefix);
        assert_eq!(WebhookKey::from_whsec("whsec_!!!").unwrap_err(), KeyError::NotBase64);
        let short = format!("whsec_{}", STANDARD.encode(b"0123456789abcde"));
        assert_eq!(WebhookKey::from_whsec(&short).unwrap_err(), KeyError::TooShort);
        assert_eq!(format!("{:?}", WebhookKey::from_whsec(&secret).unwrap()), "WebhookKey([REDACTED])");
    }

    #[test]
    fn stale_or_future_timestamps_fail() {
        let k = b"0123456789abcdef";
        let sig = sign(k, "m", 1000, b"x");
        assert_eq!(
            verify(&[key(k)], headers("m", "1000", &sig), b"x", 1000 + 301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(&[key(k)], headers("m", "1000", &sig), b"x", 1000 - 301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(verify(&[key(k)], headers("m", "soon", &sig), b"x", 1000), Err(SignatureError::InvalidTimestamp));
        // Extremes must not overflow the difference.
        for ts in [i64::MIN, i64::MAX] {
            let ts = ts.to_string();
            assert_eq!(
                verify(&[key(k)], headers("m", &ts, &sig), b"x", 1_764_000_000),
                Err(SignatureError::OutsideTolerance)
            );
        }
    }
}
