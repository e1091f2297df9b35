//! `/requests`: the request history as a table, with the search box, filters and pages; the
//! URL carries every parameter (`/requests?search=…&model=…&page=2`), so a search can be
//! bookmarked and shared. The parameters are the API's (`GET /v1/requests`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::layout::{self, badge, count, money, url_encode};
use super::Ui;
use crate::history::{HistoryPage, HistoryQuery};
use crate::server::history_api::{blocking, parse_query, store_of};

/// The filters the form shows, in order: parameter, label.
const FILTERS: [(&str, &str); 6] = [
    ("model", "Model"),
    ("channel", "Channel"),
    ("app", "App"),
    ("format", "Format"),
    ("from", "From"),
    ("to", "To"),
];

/// `GET /requests`.
pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let store = store_of(&ui.app);
    let bodies_searched = store.as_ref().map_or(true, |s| s.searches_bodies());
    let found = match (parse_query(&params), store) {
        (Ok(query), Ok(store)) => {
            let q = query.clone();
            blocking(store, move |s| s.search(&q))
                .await
                .map(|page| (query, page))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let body = html! {
        h1 { "Requests" }
        (filters_form(&params, bodies_searched))
        @match &found {
            Ok((query, page)) => (results(query, page, &params)),
            Err(e) => p.error role="alert" { (e.message) },
        }
    };
    layout::page("Requests", "/requests", &ui.shell(&headers), body).into_response()
}

fn value<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

fn filters_form(params: &HashMap<String, String>, bodies_searched: bool) -> Markup {
    let status = value(params, "status");
    let placeholder = if bodies_searched {
        "text in prompts, answers, errors, apps"
    } else {
        "models, errors, apps (not bodies)"
    };
    html! {
        form.filters method="get" action="/requests" {
            label { "Search" input #search type="search" name="search" value=(value(params, "search")) placeholder=(placeholder); }
            label { "Status"
                select name="status" {
                    @for s in ["", "ok", "error", "cancelled"] {
                        option value=(s) selected[s == status] { (if s.is_empty() { "any" } else { s }) }
                    }
                }
            }
            @for (name, label) in FILTERS {
                label { (label) input name=(name) value=(value(params, name)) size="12"; }
            }
            button #search-button type="submit" { "Search" }
            @if !bodies_searched {
                p.muted #bodies-not-searched { "Prompts and answers are kept but not searched (history.search_bodies is off)." }
            }
        }
    }
}

/// The URL of the same search on another page.
fn page_url(params: &HashMap<String, String>, page: u32) -> String {
    let mut pairs: Vec<(&String, &String)> = params
        .iter()
        .filter(|(k, v)| k.as_str() != "page" && !v.is_empty())
        .collect();
    pairs.sort();
    let mut url = format!("/requests?page={page}");
    for (k, v) in pairs {
        url.push_str(&format!("&{}={}", url_encode(k), url_encode(v)));
    }
    url
}

fn status_badge(status: &str) -> Markup {
    badge(status, status)
}

fn results(query: &HistoryQuery, page: &HistoryPage, params: &HashMap<String, String>) -> Markup {
    let total = if page.total_is_lower_bound {
        format!("more than {}", count(page.total))
    } else {
        count(page.total)
    };
    html! {
        p.muted #result-count { (total) " matching request" (if page.total == 1 { "" } else { "s" }) }
        div.scroll {
            table #requests {
                tr {
                    th { "Time (UTC)" } th { "Status" } th { "Format" } th { "App" } th { "Query → model" }
                    th { "Channel" } th.num { "Tokens" } th.num { "Cost" } th.num { "Latency" }
                }
                @for row in &page.data {
                    tr {
                        td { a href={ "/requests/" (row.id) } { (row.timestamp.get(..19).unwrap_or(&row.timestamp).replace('T', " ")) } }
                        td { (status_badge(&row.status)) " " span.muted { (row.http_status) } }
                        td { (row.request_format) @if row.stream { " · stream" } }
                        td { (row.app.as_deref().unwrap_or("")) }
                        td { (row.query) @if row.model != row.query && !row.model.is_empty() { " → " (row.model) } }
                        td { (row.channel_id) }
                        td.num { (count(row.total_tokens)) }
                        td.num { (money(row.total_cost)) @if !row.cost_known { "?" } }
                        td.num { (row.latency_ms) " ms" }
                    }
                }
            }
        }
        div.pager {
            @if query.page > 1 { a #prev-page href=(page_url(params, query.page - 1)) { "← Newer" } }
            span { "Page " (query.page) }
            @if page.has_more { a #next-page href=(page_url(params, query.page + 1)) { "Older →" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_search() {
        let params: HashMap<String, String> =
            [("search", "量子 计算"), ("page", "1"), ("model", "")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(
            page_url(&params, 2),
            "/requests?page=2&search=%E9%87%8F%E5%AD%90%20%E8%AE%A1%E7%AE%97"
        );
    }
}
