//! Reading the session cookie from a request and writing it into a response.
//!
//! The parser is our own and strict: names match exactly and case-sensitively on
//! raw bytes, nothing is percent-decoded, nameless pairs never match, several `Cookie`
//! fields are read as one list, and the work is bounded by a byte limit (every pair within
//! it is read, so a second session cookie is found wherever it sits). It returns every
//! value under the name; the caller decides what to do with duplicates, never by position.

use http::HeaderValue;

use crate::config::CookieConfig;

/// Why the cookie header was not looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieProblem {
    /// The headers together exceed the byte limit.
    TooLarge,
}

/// Every value of the cookie `name` in the `Cookie` header fields, in order.
///
/// # Errors
/// [`CookieProblem::TooLarge`] when the fields together exceed `max_bytes`.
pub fn values<'a>(
    fields: &'a [HeaderValue],
    name: &str,
    max_bytes: usize,
) -> Result<Vec<&'a [u8]>, CookieProblem> {
    let total: usize = fields.iter().map(|v| v.as_bytes().len()).sum();
    if total > max_bytes {
        return Err(CookieProblem::TooLarge);
    }
    let mut out = Vec::new();
    for field in fields {
        for pair in field.as_bytes().split(|&b| b == b';') {
            let pair = trim(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (n, v) = (&pair[..eq], &pair[eq + 1..]);
            if n == name.as_bytes() {
                out.push(trim(v));
            }
        }
    }
    Ok(out)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The `Set-Cookie` value that stores `value`: a persistent cookie with `Max-Age` when
/// `max_age_secs` is given, else a browser-session cookie (see [`max_age`]).
pub(crate) fn set(config: &CookieConfig, value: &str, max_age_secs: Option<u64>) -> String {
    let mut s = format!("{}={}", config.name, value);
    push_attributes(&mut s, config);
    if let Some(age) = max_age_secs {
        s.push_str(&format!("; Max-Age={age}"));
    }
    s
}

/// The cookie's `Max-Age`, in seconds: until the session's expiry when the cookie is
/// persistent (the layer's setting, or the session is remembered), none otherwise. The
/// expiry is already capped by the absolute lifetime, so `Max-Age` is too.
pub(crate) fn max_age(
    persistent: bool,
    now: session_core::Timestamp,
    expires_at: Option<session_core::Timestamp>,
) -> Option<u64> {
    expires_at
        .filter(|_| persistent)
        .map(|e| now.until(e).as_secs())
}

/// The `Set-Cookie` value that removes the cookie: same name, path, domain and flags as when
/// it was set, an empty value, `Max-Age=0` and an `Expires` in the past.
pub(crate) fn clear(config: &CookieConfig) -> String {
    let mut s = format!("{}=", config.name);
    push_attributes(&mut s, config);
    s.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    s
}

fn push_attributes(s: &mut String, config: &CookieConfig) {
    s.push_str("; Path=");
    s.push_str(&config.path);
    if let Some(d) = &config.domain {
        s.push_str("; Domain=");
        s.push_str(d);
    }
    if config.http_only {
        s.push_str("; HttpOnly");
    }
    if config.secure {
        s.push_str("; Secure");
    }
    s.push_str("; SameSite=");
    s.push_str(config.same_site.as_str());
    if config.partitioned {
        s.push_str("; Partitioned");
    }
}

/// Builds a header value; cookie names, values and attributes are validated ASCII, so this
/// fails only on a bug, reported as `None` rather than a panic.
pub(crate) fn header_value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> Vec<HeaderValue> {
        values
            .iter()
            .map(|v| HeaderValue::from_bytes(v).unwrap())
            .collect()
    }

    fn find(h: &[HeaderValue]) -> Vec<Vec<u8>> {
        values(h, "__Host-id", 8192)
            .unwrap()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Names match exactly, case-sensitively, without decoding.
    #[test]
    fn exact_name_matching() {
        let none: &[&[u8]] = &[
            b"%5F%5FHost-id=V",
            b"=__Host-id=V",
            b"__host-id=V",
            b"__Host-id",
            b"__Host-idx=V",
            b"x__Host-id=V",
            b"",
            b";;;",
        ];
        for v in none {
            assert!(
                find(&headers(&[v])).is_empty(),
                "{:?}",
                String::from_utf8_lossy(v)
            );
        }
        assert_eq!(
            find(&headers(&[b"a=1; __Host-id=V ; b=2"])),
            vec![b"V".to_vec()]
        );
        assert_eq!(find(&headers(&[b"__Host-id=V=W"])), vec![b"V=W".to_vec()]);
    }

    /// Several Cookie fields are one list; duplicates are all returned.
    #[test]
    fn multiple_fields_and_duplicates() {
        let h = headers(&[b"__Host-id=A", b"x=1; __Host-id=B"]);
        assert_eq!(find(&h), vec![b"A".to_vec(), b"B".to_vec()]);
    }

    /// Oversized headers are refused; within the limit every pair is read, so a second
    /// session cookie after hundreds of others is still found (and refused as a duplicate).
    #[test]
    fn limits() {
        let big = vec![b'x'; 9000];
        let h = headers(&[&big]);
        assert_eq!(values(&h, "__Host-id", 8192), Err(CookieProblem::TooLarge));
        let many: String =
            (0..200).map(|i| format!("c{i}=1; ")).collect::<String>() + "__Host-id=V";
        let h = headers(&[many.as_bytes()]);
        assert_eq!(find(&h), vec![b"V".to_vec()]);
        let with_second = format!("__Host-id=A; {many}");
        let h = headers(&[with_second.as_bytes()]);
        assert_eq!(find(&h), vec![b"A".to_vec(), b"V".to_vec()]);
    }

    /// `Max-Age` runs to the expiry, only for a persistent cookie, and is never negative.
    #[test]
    fn max_age_follows_the_expiry() {
        use session_core::Timestamp;
        let now = Timestamp::from_millis(10_000);
        let later = Some(Timestamp::from_millis(70_999));
        assert_eq!(max_age(true, now, later), Some(60));
        assert_eq!(max_age(false, now, later), None);
        assert_eq!(max_age(true, now, None), None);
        assert_eq!(
            max_age(true, now, Some(Timestamp::from_millis(5_000))),
            Some(0)
        );
    }

    /// The emitted cookie has exactly the default attributes, and clearing repeats them.
    #[test]
    fn emitted_attributes() {
        let c = CookieConfig::default();
        assert_eq!(
            set(&c, "v", None),
            "__Host-id=v; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            set(&c, "v", Some(60)),
            "__Host-id=v; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=60"
        );
        // A configured path is written as it is, on the removal too.
        let app = CookieConfig {
            name: "id".into(),
            path: "/app".into(),
            ..c.clone()
        };
        assert_eq!(
            set(&app, "v", None),
            "id=v; Path=/app; HttpOnly; Secure; SameSite=Lax"
        );
        assert!(clear(&app).starts_with("id=; Path=/app; "));
        assert_eq!(
            clear(&c),
            "__Host-id=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        // Partitioned: set and cleared with the same attribute, or the removal would miss.
        let part = CookieConfig {
            name: "__Host-Http-id".into(),
            partitioned: true,
            same_site: crate::SameSite::None,
            ..c.clone()
        };
        assert_eq!(
            set(&part, "v", None),
            "__Host-Http-id=v; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"
        );
        assert_eq!(
            clear(&part),
            "__Host-Http-id=; Path=/; HttpOnly; Secure; SameSite=None; Partitioned; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
