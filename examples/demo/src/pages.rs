//! Server-rendered HTML. Every interpolated value goes through [`esc`].

use session_tower::Device;

/// Escapes text for HTML bodies and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What every page shows in its header.
pub struct Frame<'a> {
    /// The signed-in user.
    pub user: Option<&'a str>,
    /// Items in the cart.
    pub cart_len: usize,
    /// The CSRF token for forms, when there is a session.
    pub csrf: Option<&'a str>,
}

/// A hidden CSRF field, when the session has a token.
pub fn csrf_field(csrf: Option<&str>) -> String {
    csrf.map(|t| {
        format!(
            r#"<input type="hidden" name="csrf_token" value="{}">"#,
            esc(t)
        )
    })
    .unwrap_or_default()
}

const STYLE: &str = r#"
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.8rem;margin-bottom:1.2rem}
nav .who{margin-left:auto;color:#555}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.45rem;text-align:left;vertical-align:top}
button{padding:.35rem .8rem;border:1px solid #888;border-radius:4px;background:#f6f6f6;cursor:pointer}
.current{font-weight:600;color:#0a6}
.note{color:#666;font-size:.9rem}
form.inline{display:inline}
code{background:#f3f3f3;padding:0 .25rem}
"#;

/// A whole page.
pub fn page(title: &str, frame: &Frame<'_>, body: &str) -> String {
    let who = match frame.user {
        Some(u) => format!(
            r#"<span class="who" id="who">Signed in as <b>{}</b></span> <a href="/account/password" id="password-link">Password</a>
<form class="inline" method="post" action="/logout">{}<button id="logout">Log out</button></form>"#,
            esc(u),
            csrf_field(frame.csrf)
        ),
        None => r#"<span class="who" id="who">Not signed in</span> <a href="/login">Log in</a>"#
            .to_owned(),
    };
    let meta = frame
        .csrf
        .map(|t| format!(r#"<meta name="csrf-token" content="{}">"#, esc(t)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Session demo shop</title>
{meta}<style>{STYLE}</style></head><body>
<nav><a href="/">Home</a><a href="/products">Products</a><a href="/cart" id="cart-link">Cart ({n})</a><a href="/devices">Your devices</a><a href="/live" id="live-link">Live</a>{who}</nav>
<h1>{title}</h1>
{body}
</body></html>"#,
        title = esc(title),
        n = frame.cart_len,
    )
}

/// "Chrome 156 on Linux" from a user-agent string; the full string goes in a tooltip.
pub fn browser_name(ua: &str) -> String {
    let version = |marker: &str| {
        ua.split(marker)
            .nth(1)
            .map(|rest| rest.split(['.', ' ']).next().unwrap_or("").to_owned())
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find_map(|(m, name)| version(m).map(|v| format!("{name} {v}")))
    .unwrap_or_else(|| "Unknown browser".to_owned());
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(m, _)| ua.contains(m))
    .map(|(_, os)| format!(" on {os}"))
    .unwrap_or_default();
    format!("{browser}{os}")
}

/// The "your devices" table.
pub fn devices_table(devices: &[Device], csrf: Option<&str>, now_ms: i64) -> String {
    let ago = |t: i64| {
        let s = (now_ms - t).max(0) / 1000;
        if s < 60 {
            format!("{s} s ago")
        } else if s < 3600 {
            format!("{} min ago", s / 60)
        } else {
            format!("{} h ago", s / 3600)
        }
    };
    let mut rows = String::new();
    for d in devices {
        let action = if d.current {
            r#"<span class="current">this device</span>"#.to_owned()
        } else {
            format!(
                r#"<form class="inline" method="post" action="/devices/revoke">{}<input type="hidden" name="key" value="{}"><button class="revoke">Revoke</button></form>"#,
                csrf_field(csrf),
                esc(&d.key)
            )
        };
        rows.push_str(&format!(
            "<tr class=\"device{}\"><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            if d.current { " current-row" } else { "" },
            esc(d.user_agent.as_deref().unwrap_or("")),
            esc(&browser_name(d.user_agent.as_deref().unwrap_or(""))),
            ago(d.created_at),
            ago(d.last_seen),
            action
        ));
    }
    format!(
        r#"<p>Every browser where you are signed in. Revoking one signs it out at its next request.</p>
<table><thead><tr><th>Browser</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead><tbody>
{rows}</tbody></table>
<p><form method="post" action="/devices/revoke-others">{}<button id="revoke-others">Log out everywhere else</button></form></p>"#,
        csrf_field(csrf)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escaping covers every character that could break out of text or an attribute.
    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x" onclick='y'>&"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;"
        );
    }

    /// User agents are summarised for people.
    #[test]
    fn browser_names() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome 131 on Linux");
        let ff = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_name(ff), "Firefox 133 on Windows");
        assert_eq!(browser_name(""), "Unknown browser");
    }
}
