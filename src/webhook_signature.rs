//! Standard Webhooks: `HMAC-SHA256(key, "{id}.{timestamp}.{body}")`, base64, sent as
//! `v1,<sig>` (several, space-separated). Any listed signature matching any key passes;
//! comparison is constant-time; the timestamp must be within ±5 minutes.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::WebhookKey;

pub const TOLERANCE_SECS: i64 = 5 * 60;
const MAX_ID_LEN: usize = 256;
const MAX_SIGNATURES: usize = 16;

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

/// The three Standard Webhooks headers, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

fn mac(mut mac: Hmac<Sha256>, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `v1,<base64>` for one key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(WebhookKey::new(key).mac(), id, &timestamp.to_string(), body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
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
        let expected = mac(key.mac(), id, ts_raw, body).finalize().into_bytes();
        // Constant-time per candidate; which candidate matched is not secret.
        if candidates[..count].iter().any(|sig| bool::from(sig.ct_eq(expected.as_slice()))) {
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
