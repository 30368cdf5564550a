//! Per-client-IP limits on the endpoints an abuser would hammer (register, login, forgot,
//! reset): a small trait over Cloudflare's Rate Limiting binding (`platform::rate_limit`), with an
//! in-memory counter for the native tests. The binding counts per Cloudflare location and
//! approximately, so the limits are set far above anything an honest client does; they stop
//! floods, while the per-account throttle and the email cap stay the exact limits.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

/// The answer of a limiter: `Ok(true)` to let the request through, `Ok(false)` when the key is
/// over its limit, `Err` when the limiter could not be asked (the message is for logs).
pub type Verdict<'a> = Pin<Box<dyn Future<Output = Result<bool, String>> + 'a>>;

/// The client a `CF-Connecting-IP` value counts as: an IPv4 address itself; an IPv6 address
/// by its /64 (one host or home network usually holds a whole /64, and could take a new
/// address for every request); an IPv4 address written as IPv6 (`::ffff:a.b.c.d`) as the IPv4
/// one. A value that is not an address is its own key, cut to 64 bytes.
pub fn client_of(ip: &str) -> String {
    match ip.contains(':').then(|| ipv6_groups(ip)).flatten() {
        Some([0, 0, 0, 0, 0, 0xffff, high, low]) => {
            format!("{}.{}.{}.{}", high >> 8, high & 0xff, low >> 8, low & 0xff)
        }
        Some(g) => format!("{:x}:{:x}:{:x}:{:x}::/64", g[0], g[1], g[2], g[3]),
        None => ip.chars().take(64).collect(),
    }
}

/// The eight groups of an IPv6 address in text form (RFC 4291 §2.2: `::` once, a dotted IPv4
/// tail), or `None` when it is not one. (Read here: std's address parser is 3 KB of the wasm.)
fn ipv6_groups(text: &str) -> Option<[u16; 8]> {
    let (head, tail) = match text.split_once("::") {
        Some((head, tail)) if !tail.contains("::") => (head, Some(tail)),
        Some(_) => return None,
        None => (text, None),
    };
    // Only the address's last piece may be dotted IPv4.
    let head = groups(head, tail.is_none())?;
    let mut out = [0u16; 8];
    match tail {
        None if head.len() == 8 => out.copy_from_slice(&head),
        None => return None,
        Some(tail) => {
            let tail = groups(tail, true)?;
            if head.len() + tail.len() > 7 {
                return None;
            }
            out[..head.len()].copy_from_slice(&head);
            out[8 - tail.len()..].copy_from_slice(&tail);
        }
    }
    Some(out)
}

/// The four octets of a dotted IPv4 address (decimal, no leading zero: `01` could be read as
/// octal elsewhere), or `None` when it is not one.
pub fn ipv4_octets(text: &str) -> Option<[u8; 4]> {
    let octets: Vec<u8> = text
        .split('.')
        .map(|o| {
            let ok = (1..=3).contains(&o.len())
                && o.bytes().all(|b| b.is_ascii_digit())
                && (o.len() == 1 || !o.starts_with('0'));
            ok.then(|| o.parse::<u8>().ok()).flatten()
        })
        .collect::<Option<_>>()?;
    octets.try_into().ok()
}

/// The groups of one side of `::` (empty for an empty side).
fn groups(part: &str, dotted_last: bool) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(8);
    if part.is_empty() {
        return Some(out);
    }
    let pieces: Vec<&str> = part.split(':').collect();
    for (i, piece) in pieces.iter().enumerate() {
        if dotted_last && i + 1 == pieces.len() && piece.contains('.') {
            let [a, b, c, d] = ipv4_octets(piece)?.map(u16::from);
            out.extend([a << 8 | b, c << 8 | d]);
        } else if (1..=4).contains(&piece.len()) && piece.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push(u16::from_str_radix(piece, 16).ok()?);
        } else {
            return None;
        }
    }
    (out.len() <= 8).then_some(out)
}

/// Counts requests per key (`<endpoint>:<client>`, the client from [`client_of`]).
pub trait IpRateLimiter {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a>;
}

/// Seconds a client over the limit is told to wait (`Retry-After`): the binding's period.
pub const RETRY_AFTER_SECS: u64 = 60;

/// A fixed count per key that never resets, for the native tests; `fail` makes it unreachable.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    pub limit: Cell<u32>,
    pub counts: RefCell<HashMap<String, u32>>,
    pub fail: Cell<bool>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            limit: Cell::new(u32::MAX),
            counts: RefCell::default(),
            fail: Cell::new(false),
        }
    }
}

impl IpRateLimiter for MemoryRateLimiter {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            if self.fail.get() {
                return Err("rate limiter unavailable".into());
            }
            let mut counts = self.counts.borrow_mut();
            let n = counts.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            Ok(*n <= self.limit.get())
        })
    }
}
