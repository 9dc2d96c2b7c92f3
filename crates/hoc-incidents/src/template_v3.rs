//! The `rsig-v3` message template: a generic tokenizer (no rule for any one system's messages) that keeps a
//! message's constant words and replaces each variable part by `<*>`. Linear in the text, idempotent (a template's
//! template is itself). The specification, with examples, is `docs/recurrence-signatures.md` ("rsig-v3").
//!
//! 1. The text is lowercased and cut into tokens, left to right, whitespace separating them:
//!    - `<*>` is a variable (a template read again);
//!    - a quote (`'`, `"` or `` ` ``) whose closing quote comes before any whitespace: the quoted word, quotes
//!      included, is a variable (`'nightly-rollup'`); a quote that closes after whitespace only delimits, so a
//!      quoted sentence keeps its words (`"get /x http/1.1"` is not `"delete /x http/1.1"`);
//!    - a run of hex digits and colons with at least two colons and an ASCII digit, ending at whitespace, a
//!      delimiter or the end, is a variable (IPv6 and MAC addresses, times of day);
//!    - each of `= : , ; ( ) [ ] { } < > " ' ` |` is a token of its own (a delimiter);
//!    - anything else up to whitespace or a delimiter is a word, which is a variable when it has an ASCII digit,
//!      is eight or more hex letters, is a path (starts with `/` and has two `/`, or has two `\`) or an e-mail
//!      address (an `@` after its first character, with a `.` after it).
//! 2. The tokens are reduced left to right on a stack, each rule looking at the incoming token and the stack's
//!    top: a variable after a variable is dropped (runs of variables are one); a unit word (`kb`, `ms`, `%`…), a
//!    weekday or a month name after a variable is dropped; weekday and month names before a variable are dropped
//!    (`sun jul <*>` is `<*>`); `)` after `( <*>` drops all three (an optional bracketed value, `(12.8 kb)`).
//! 3. The template is the stack's tokens joined by single spaces.

/// The characters that are tokens of their own.
const DELIMITERS: &[char] = &[
    '=', ':', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>', '"', '\'', '`', '|',
];
const QUOTES: &[char] = &['\'', '"', '`'];
const WEEKDAYS: &[&str] = &[
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// Units a number may be followed by, as a word of their own.
const UNITS: &[&str] = &[
    "b", "kb", "mb", "gb", "tb", "pb", "kib", "mib", "gib", "tib", "bytes", "byte", "ns", "us",
    "µs", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h",
    "hr", "hrs", "hour", "hours", "d", "day", "days", "%",
];

/// The placeholder of a variable.
pub const VARIABLE: &str = "<*>";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Variable,
    Delimiter(char),
    Word(String),
}

fn is_delimiter(c: char) -> bool {
    DELIMITERS.contains(&c)
}

fn is_hex(c: char) -> bool {
    c.is_ascii_digit() || ('a'..='f').contains(&c)
}

/// Whether a word is a variable part of a message.
fn is_variable(word: &str) -> bool {
    if word.bytes().any(|b| b.is_ascii_digit()) {
        return true;
    }
    if word.chars().count() >= 8 && word.chars().all(is_hex) {
        return true;
    }
    if word.starts_with('/') && word.matches('/').count() >= 2 {
        return true;
    }
    if word.matches('\\').count() >= 2 {
        return true;
    }
    word.char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .is_some_and(|(at, _)| word[at..].contains('.'))
}

fn tokens(text: &str) -> Vec<Token> {
    let s: Vec<char> = text.to_lowercase().chars().collect();
    let n = s.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if s[i..].starts_with(&['<', '*', '>']) {
            out.push(Token::Variable);
            i += 3;
            continue;
        }
        if QUOTES.contains(&c) {
            let mut j = i + 1;
            while j < n && s[j] != c && !s[j].is_whitespace() {
                j += 1;
            }
            if j < n && s[j] == c && j > i + 1 {
                out.push(Token::Variable);
                i = j + 1;
                continue;
            }
        }
        let mut j = i;
        while j < n && (is_hex(s[j]) || s[j] == ':') {
            j += 1;
        }
        let run = &s[i..j];
        if run.iter().filter(|c| **c == ':').count() >= 2
            && run.iter().any(char::is_ascii_digit)
            && (j == n || s[j].is_whitespace() || is_delimiter(s[j]))
        {
            out.push(Token::Variable);
            i = j;
            continue;
        }
        if is_delimiter(c) {
            out.push(Token::Delimiter(c));
            i += 1;
            continue;
        }
        let mut j = i;
        while j < n && !s[j].is_whitespace() && !is_delimiter(s[j]) {
            j += 1;
        }
        let word: String = s[i..j].iter().collect();
        out.push(if is_variable(&word) {
            Token::Variable
        } else {
            Token::Word(word)
        });
        i = j;
    }
    out
}

fn is_date_word(token: &Token) -> bool {
    matches!(token, Token::Word(w) if WEEKDAYS.contains(&w.as_str()) || MONTHS.contains(&w.as_str()))
}

/// The `rsig-v3` template of `text`.
pub fn template(text: &str) -> String {
    let mut stack: Vec<Token> = Vec::new();
    for token in tokens(text) {
        match &token {
            Token::Variable => {
                while stack.last().is_some_and(is_date_word) {
                    stack.pop();
                }
                if stack.last() == Some(&Token::Variable) {
                    continue;
                }
            }
            Token::Word(w)
                if stack.last() == Some(&Token::Variable)
                    && (UNITS.contains(&w.as_str()) || is_date_word(&token)) =>
            {
                continue;
            }
            Token::Delimiter(')')
                if stack.len() >= 2
                    && stack[stack.len() - 1] == Token::Variable
                    && stack[stack.len() - 2] == Token::Delimiter('(') =>
            {
                stack.truncate(stack.len() - 2);
                continue;
            }
            _ => {}
        }
        stack.push(token);
    }
    let mut out = String::new();
    for token in &stack {
        if !out.is_empty() {
            out.push(' ');
        }
        match token {
            Token::Variable => out.push_str(VARIABLE),
            Token::Delimiter(c) => out.push(*c),
            Token::Word(w) => out.push_str(w),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn the_classes_of_variable() {
        let cases = [
            // A sign or a prefix on a number is part of the variable (HDFS: `blk_-4794867979917102672`).
            (
                "Deleting block blk_-4794867979917102672 file /mnt/hadoop/dfs/data/current/subdir19/blk_-4794867979917102672",
                "deleting block <*> file <*>",
            ),
            (
                "Receiving block blk_38865049064139660 src: /10.250.19.102:54106",
                "receiving block <*> src : <*> : <*>",
            ),
            // Host names with digits; hex without a digit only from eight letters on.
            (
                "Thunderbird_A8 kernel: eth1: link up",
                "<*> kernel : <*> : link up",
            ),
            (
                "session deadbeefcafe closed, face ok",
                "session <*> closed , face ok",
            ),
            // Sizes with their units, bracketed or not, are one variable.
            (
                "Finished task 0.0 in stage 1.0 (TID 0). 2078 bytes result sent",
                "finished task <*> in stage <*> ( tid <*> ) . <*> result sent",
            ),
            (
                "Block broadcast_0 stored as values in memory (estimated size 12.8 KB, free 5.2 GB)",
                "block <*> stored as values in memory ( estimated size <*> , free <*> )",
            ),
            (
                "Found block rdd_2_3 locally (12.8 KB)",
                "found block <*> locally",
            ),
            // A timestamp's weekday and month go with its numbers.
            (
                "synchronized at Sun Jul 10 14:22:01 2005",
                "synchronized at <*>",
            ),
            (
                "release date: Mon Sep 27 22:15:07 EDT 2004",
                "release date : <*> edt <*>",
            ),
            // A quoted word is a variable; a quoted sentence keeps its words.
            (
                "KeyError: 'customer_id' while importing order 881",
                "keyerror : <*> while importing order <*>",
            ),
            ("\"GET /api/orders HTTP/1.1\" 404", "\" get <*> \" <*>"),
            (
                "\"DELETE /api/orders HTTP/1.1\" 404",
                "\" delete <*> \" <*>",
            ),
            // Addresses.
            (
                "read tcp [fe80::1]:443->[2001:db8::bbde]:5432: reset",
                "read tcp [ <*> ] : <*> > [ <*> ] <*> reset",
            ),
            ("mail to ops.k@example.com bounced", "mail to <*> bounced"),
            (
                "open C:\\Windows\\System\\ntdll.dll failed",
                "open c : <*> failed",
            ),
            // Words stay words.
            ("Removing chargen", "removing chargen"),
            ("  many\t\nspaces  ", "many spaces"),
        ];
        for (input, expected) in cases {
            assert_eq!(template(input), expected, "{input:?}");
        }
    }

    #[test]
    fn a_template_is_its_own_template_on_the_cases() {
        for text in [
            "<*> <*> kb",
            "fri <*>",
            "jan ( 5 ) 7",
            "a<*>b",
            "don't 'x' \"y z\"",
            "::1 ff:ff:00:11:22:33",
            "'",
            "( <*> )",
        ] {
            let once = template(text);
            assert_eq!(template(&once), once, "{text:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::template;

    fn message() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "[0-9]{1,12}(\\.[0-9]{1,3})?( ?(ms|s|kb|mb|gb|%|bytes))?",
                "(mon|tue|sun|jan|jul|may|dec) ?",
                "[0-9a-f:]{2,20}",
                "(\\(|\\)|\\[|\\]|<\\*>|<|>|=|:|,|\\|) ?",
                "[a-z]{1,6}@[a-z]{1,6}\\.(com|io)",
                "(/|\\\\)[a-z0-9_./\\\\-]{1,20}",
                "['\"`][a-z 0-9'<*>]{0,10}['\"`]?",
                "[a-zA-Z :.,()/'\"<>*-]{1,20}",
                Just("\t\n  ".to_owned()),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn a_template_is_its_own_template(m in message()) {
            let once = template(&m);
            prop_assert_eq!(template(&once), once.clone(), "{:?}", m);
            prop_assert!(!once.bytes().any(|b| b.is_ascii_digit()), "{:?} -> {:?}", m, once);
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert!(!once.contains("  "));
        }
    }
}
