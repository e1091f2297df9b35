//! Parser tests: every query form of docs/queries.md and every malformed one, with exact results.

use super::*;

fn tags(pos: &[&str], neg: &[&str]) -> Query {
    Query::Tags(TagQuery {
        positives: pos.iter().map(|s| s.to_string()).collect(),
        negatives: neg.iter().map(|s| s.to_string()).collect(),
        filters: vec![],
    })
}

fn parsed(text: &str) -> Query {
    match parse_query(text) {
        Ok(query) => query,
        Err(e) => panic!("{text:?} did not parse: {e}"),
    }
}

fn failed(text: &str) -> String {
    match parse_query(text) {
        Ok(query) => panic!("{text:?} parsed as {query:?}"),
        Err(e) => e.message,
    }
}

fn filter(text: &str) -> Filter {
    match parsed(&format!("tag:{text}")) {
        Query::Tags(q) if q.filters.len() == 1 => q.filters[0].clone(),
        other => panic!("{text:?} gave {other:?}"),
    }
}

#[test]
fn tag_prefixes_in_any_case_and_bare_commas() {
    let expected = tags(&["free", "qwen3"], &["local"]);
    for text in [
        "tag:free,qwen3,!local",
        "TAG:free,qwen3,!local",
        "tags:free,qwen3,!local",
        "Tags: free , qwen3 , !local ",
        "free,qwen3,!local",
        "tag:FREE,Qwen3,! local",
    ] {
        assert_eq!(parsed(text), expected, "{text}");
    }
    assert_eq!(parsed("tag:qwen3"), tags(&["qwen3"], &[]));
    assert_eq!(parsed("tag:!local"), tags(&[], &["local"]));
    assert_eq!(parsed("tag:a,,b"), tags(&["a", "b"], &[]));
}

#[test]
fn filters_inside_tag_queries_and_on_their_own() {
    let q = parsed("tag:qwen3,>20b,ctx>=128k,!local");
    let Query::Tags(q) = q else {
        panic!("not tags")
    };
    assert_eq!(q.positives, vec!["qwen3"]);
    assert_eq!(q.negatives, vec!["local"]);
    assert_eq!(q.filters.len(), 2);
    assert_eq!(q.filters[0].field, FilterField::Parameters);
    assert_eq!(q.filters[0].comparison, Comparison::Greater);
    assert_eq!(q.filters[0].value, 20.0);
    assert_eq!(q.filters[1].field, FilterField::Context);
    assert_eq!(q.filters[1].comparison, Comparison::GreaterOrEqual);
    assert_eq!(q.filters[1].value, 131072.0);

    assert!(
        matches!(parsed(">20b"), Query::Tags(ref t) if t.filters.len() == 1 && t.positives.is_empty())
    );
    assert!(matches!(parsed("tag:>20b"), Query::Tags(ref t) if t.filters.len() == 1));
    assert!(
        matches!(parsed("ctx>=128k"), Query::Tags(ref t) if t.filters[0].field == FilterField::Context)
    );
}

#[test]
fn filter_values_and_comparisons() {
    let cases: &[(&str, FilterField, Comparison, f64)] = &[
        (">20b", FilterField::Parameters, Comparison::Greater, 20.0),
        (
            "<=8b",
            FilterField::Parameters,
            Comparison::LessOrEqual,
            8.0,
        ),
        (
            ">=270m",
            FilterField::Parameters,
            Comparison::GreaterOrEqual,
            0.27,
        ),
        ("=7b", FilterField::Parameters, Comparison::Equal, 7.0),
        ("<1.5b", FilterField::Parameters, Comparison::Less, 1.5),
        (">1t", FilterField::Parameters, Comparison::Greater, 1000.0),
        (
            "ctx>=128k",
            FilterField::Context,
            Comparison::GreaterOrEqual,
            131072.0,
        ),
        ("ctx<32k", FilterField::Context, Comparison::Less, 32768.0),
        (
            "CTX > 1m",
            FilterField::Context,
            Comparison::Greater,
            1048576.0,
        ),
        (">32ki", FilterField::Context, Comparison::Greater, 32768.0),
    ];
    for (text, field, comparison, value) in cases {
        let f = filter(text);
        assert_eq!(
            (f.field, f.comparison, f.value),
            (*field, *comparison, *value),
            "{text}"
        );
        assert_eq!(f.text, *text);
    }
}

#[test]
fn filters_pass_known_values_only() {
    let gt = filter(">20b");
    assert!(gt.passes(Some(20.5)));
    assert!(!gt.passes(Some(20.0)));
    assert!(!gt.passes(None));
    let eq = filter("=7b");
    assert!(eq.passes(Some(7.6)));
    assert!(eq.passes(Some(6.4)));
    assert!(!eq.passes(Some(8.0)));
    let le = filter("<=8b");
    assert!(le.passes(Some(8.0)));
    assert!(!le.passes(Some(8.03)));
}

#[test]
fn size_comparisons() {
    let cases: &[(&str, &str, Comparison, f64)] = &[
        ("qwen3->8b", "qwen3", Comparison::Greater, 8.0),
        ("qwen3-<72b", "qwen3", Comparison::Less, 72.0),
        ("qwen3->=8b", "qwen3", Comparison::GreaterOrEqual, 8.0),
        ("Qwen3-<=30B", "qwen3", Comparison::LessOrEqual, 30.0),
        ("llama-3.1->70b", "llama-3.1", Comparison::Greater, 70.0),
    ];
    for (text, prefix, comparison, value) in cases {
        match parsed(text) {
            Query::SizeComparison { prefix: p, filter } => {
                assert_eq!(p, *prefix, "{text}");
                assert_eq!(
                    (filter.comparison, filter.value),
                    (*comparison, *value),
                    "{text}"
                );
            }
            other => panic!("{text} gave {other:?}"),
        }
    }
}

#[test]
fn everything_else_is_a_name() {
    for (text, name) in [
        ("qwen3-235b-a22b", "qwen3-235b-a22b"),
        ("Qwen/Qwen2.5-72B-Instruct", "qwen/qwen2.5-72b-instruct"),
        ("qwen/qwen3-30b-a3b:free", "qwen/qwen3-30b-a3b:free"),
        ("  gpt-4o  ", "gpt-4o"),
        ("qwen3->abc", "qwen3->abc"),
        ("tagged-model", "tagged-model"),
        ("ep-20250613210739-qjxdl", "ep-20250613210739-qjxdl"),
    ] {
        assert_eq!(parsed(text), Query::Name(name.into()), "{text}");
    }
}

#[test]
fn malformed_queries_say_what_is_wrong() {
    assert_eq!(
        failed(""),
        "`model` is empty: give a model name such as \"qwen3-235b-a22b\" or a tag query such as \"tag:free,qwen3\""
    );
    assert_eq!(failed("   "), failed(""));
    assert_eq!(
        failed("tag:"),
        "the tag query \"tag:\" is empty: list tags after `tag:`, e.g. \"tag:free,qwen3,!local\""
    );
    assert_eq!(
        failed("tag:,,"),
        "the tag query \"tag:,,\" is empty: list tags after `tag:`, e.g. \"tag:free,qwen3,!local\""
    );
    assert_eq!(
        failed(","),
        "the tag query \",\" is empty: list tags after `tag:`, e.g. \"tag:free,qwen3,!local\""
    );
    assert_eq!(
        failed("tag:!"),
        "`!` in \"tag:!\" needs a tag after it, e.g. \"tag:free,!local\""
    );
    assert_eq!(
        failed("tag:>abc"),
        "`>abc` in \"tag:>abc\" is not a valid filter: use a size such as >20b, <=8b, >=270m or ctx>=128k for context"
    );
    assert_eq!(
        failed("tag:ctx>=lots"),
        "`ctx>=lots` in \"tag:ctx>=lots\" is not a valid filter: use a context length such as ctx>=128k, ctx<32k or >32ki"
    );
    assert_eq!(
        failed("tag:qwen,!>20b"),
        "`!>20b` in \"tag:qwen,!>20b\": a filter cannot be negated; use the opposite comparison (e.g. `<=20b` instead of `!>20b`)"
    );
    assert_eq!(
        failed("tag:>"),
        "`>` in \"tag:>\" is not a valid filter: use a size such as >20b, <=8b, >=270m or ctx>=128k for context"
    );
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(text in "\\PC{0,64}") {
        let _ = parse_query(&text);
    }

    #[test]
    fn parsing_never_panics_on_query_like_text(text in "(tag:|tags:|TAG:)?[a-z0-9.!<>=:, -]{0,40}") {
        let _ = parse_query(&text);
    }
}
