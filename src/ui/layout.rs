//! The page shell every UI page shares (navigation, styles, scripts) and small formatting
//! helpers. Pages are whole HTML documents: the data is in the markup, scripts only add charts
//! and the live refresh.

use axum::response::Html;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The navigation: path, label, page key.
const NAV: [(&str, &str); 6] = [
    ("/", "Overview"),
    ("/requests", "Requests"),
    ("/channels", "Channels"),
    ("/models", "Models"),
    ("/alerts", "Alerts"),
    ("/config", "Config"),
];

/// What the shell needs to know about the visitor.
pub struct Shell<'a> {
    pub csrf: &'a str,
    /// Show the sign-out button (auth is on).
    pub signed_in: bool,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · smart-ai-router" }
            link rel="stylesheet" href="/ui/assets/app.css";
        }
    }
}

/// A full page with the navigation; `active` is the nav path of the page.
pub fn page(title: &str, active: &str, shell: &Shell<'_>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/" { "smart-ai-router" }
                    nav {
                        @for (path, label) in NAV {
                            a href=(path) class=[(path == active).then_some("active")] { (label) }
                        }
                    }
                    @if shell.signed_in {
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(shell.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
                script src="/ui/assets/app.js" {}
            }
        }
    };
    Html(markup.into_string())
}

/// A page without navigation (the login form).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main #main { (body) } }
        }
    };
    Html(markup.into_string())
}

/// Data for a chart: a JSON island read by `app.js`.
pub fn json_island(id: &str, value: &serde_json::Value) -> Markup {
    // `</` cannot close the script inside JSON text.
    let text = value.to_string().replace("</", "<\\/");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}

/// Percent-encode a query value.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A cost: `$0.0123` (4 decimals under a dollar, else 2).
pub fn money(usd: f64) -> String {
    if usd.abs() < 1.0 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// A share as a percentage with one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A status badge.
pub fn badge(kind: &str, text: &str) -> Markup {
    html! { span class={ "badge " (kind) } { (text) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(money(0.01234), "$0.0123");
        assert_eq!(money(12.5), "$12.50");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "–");
        assert_eq!(
            url_encode("/requests?search=量 a"),
            "/requests%3Fsearch%3D%E9%87%8F%20a"
        );
    }

    #[test]
    fn a_json_island_cannot_close_its_script() {
        let island = json_island("d", &serde_json::json!({"s": "</script>"})).into_string();
        assert_eq!(
            island,
            r#"<script type="application/json" id="d">{"s":"<\/script>"}</script>"#
        );
    }
}
