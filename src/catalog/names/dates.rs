//! Dates at the end of a model id (`-20240307`, `-2407`, `-0528`): found and stripped, so a
//! dated snapshot also answers to its undated name.

// ---------------------------------------------------------------------------------------------
// Dates

/// Split a trailing date off (rules in the module doc), returning the part before it.
/// `claude-3-haiku-20240307` -> `claude-3-haiku`; `kimi-k2-0905` -> `kimi-k2`;
/// `llama3-70b-8192` -> None.
pub fn strip_date_suffix(s: &str) -> Option<&str> {
    let (head, last) = split_last_number(s)?;
    let undated = match last.len() {
        2 => strip_two_digit_tail(head, last)?,
        4 => match split_last_number(head) {
            Some((before, month)) if is_month(month) && is_year(last) => before,
            _ if is_mmdd(last) || is_yymm(last) => head,
            _ => return None,
        },
        6 if is_yyyymm(last) || is_yymmdd(last) => head,
        8 if is_yyyymmdd(last) => head,
        _ => return None,
    };
    undated.chars().any(char::is_alphabetic).then_some(undated)
}

/// `...-YYYY-MM-DD`, `...-MM-DD` or `...-YYYY-MM`, given the last two digits.
pub(super) fn strip_two_digit_tail<'a>(head: &'a str, last: &str) -> Option<&'a str> {
    let (before, prev) = split_last_number(head)?;
    if prev.len() == 2 && is_month(prev) && is_day(last) {
        if let Some((start, year)) = split_last_number(before) {
            if is_year(year) {
                return Some(start);
            }
        }
        return Some(before);
    }
    (is_year(prev) && is_month(last)).then_some(before)
}

/// Split `s` at its last `-` or `@` when everything after it is ASCII digits.
pub(super) fn split_last_number(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(['-', '@'])?;
    let (head, tail) = (&s[..i], &s[i + 1..]);
    is_all_digits(tail).then_some((head, tail))
}

pub(super) fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Value of a short all-ASCII-digit string (callers check the digits and the length).
pub(super) fn small_number(s: &str) -> u32 {
    s.bytes().fold(0u32, |n, b| {
        n.saturating_mul(10)
            .saturating_add(u32::from(b.wrapping_sub(b'0')))
    })
}

pub(super) fn is_year(s: &str) -> bool {
    s.len() == 4 && (2015..=2039).contains(&small_number(s))
}
pub(super) fn is_short_year(s: &str) -> bool {
    s.len() == 2 && (20..=39).contains(&small_number(s))
}
pub(super) fn is_month(s: &str) -> bool {
    s.len() == 2 && (1..=12).contains(&small_number(s))
}
pub(super) fn is_day(s: &str) -> bool {
    s.len() == 2 && (1..=31).contains(&small_number(s))
}
pub(super) fn is_mmdd(s: &str) -> bool {
    s.len() == 4 && is_month(&s[..2]) && is_day(&s[2..])
}
pub(super) fn is_yymm(s: &str) -> bool {
    s.len() == 4 && is_short_year(&s[..2]) && is_month(&s[2..])
}
pub(super) fn is_yyyymm(s: &str) -> bool {
    s.len() == 6 && is_year(&s[..4]) && is_month(&s[4..])
}
pub(super) fn is_yymmdd(s: &str) -> bool {
    s.len() == 6 && is_short_year(&s[..2]) && is_month(&s[2..4]) && is_day(&s[4..])
}
pub(super) fn is_yyyymmdd(s: &str) -> bool {
    s.len() == 8 && is_year(&s[..4]) && is_month(&s[4..6]) && is_day(&s[6..])
}
