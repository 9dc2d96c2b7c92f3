//! Learned templates: mining a tenant's `rsig-v3` message templates for positions that hold variables the
//! tokenizer cannot know (host names without digits, user and service names), and matching a new message against
//! what was mined. Pure: no storage, no clock. The specification is `docs/recurrence-signatures.md` ("Learned
//! templates").
//!
//! **Mining** starts from each message's `rsig-v3` template, cut at its single spaces into tokens, and groups the
//! distinct templates. It then repeats passes until one changes nothing; a pass looks at each token position `i`
//! from the second on (the first token, usually the verb or the component, is never generalised) and, among the
//! current templates of one token count that are equal everywhere but at `i`, where `i` holds a word (not a
//! delimiter), makes `i` a variable (`<*>`) in all of them when
//! - one of them already has `<*>` there (*absorption*: a word seen where others have a variable is a value of
//!   that variable, as `local` beside `<*>` in `synchronized to <*> , stratum <*>`), or
//! - at least [`MIN_DISTINCT_WORDS`] distinct words appear there (a slot with that many values is a variable, as
//!   the service names after `removing`).
//!
//! The templates that absorbed at least two distinct `rsig-v3` templates are the learned ones, sorted by their
//! text. Mining depends only on the multiset of messages, never on their order.
//!
//! **Matching** a message's `rsig-v3` template against learned templates: a learned template of the same field
//! and token count, with the same first token, matches when every other position holds `<*>` or the same token;
//! of several, the one with the most constant tokens wins, then the smaller text. Linear in the candidates, which
//! share the first token and count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::recurrence::{RsigV3, Signature, SignatureAlgorithm, SignatureInputs, SignatureSource};
use crate::template_v3::{VARIABLE, template};

/// A position holding at least this many distinct words, all else equal, is a variable.
pub const MIN_DISTINCT_WORDS: usize = 8;
/// Examples kept per learned template.
pub const EXAMPLES: usize = 3;
/// An example is cut to this many characters.
pub const EXAMPLE_CHARS: usize = 500;

/// Which incident field a template was learned from (the `rsig-v3` mode that templates it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TemplateField {
    /// The error message (incidents without an error code).
    ErrorMessage,
    /// The title (incidents with neither an error code nor a message).
    Title,
}

impl TemplateField {
    /// Its name, as stored and as in signature inputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ErrorMessage => "error_message",
            Self::Title => "title",
        }
    }

    /// The field of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "error_message" => Some(Self::ErrorMessage),
            "title" => Some(Self::Title),
            _ => None,
        }
    }
}

/// One learned template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LearnedTemplate {
    /// The field it templates.
    pub field: TemplateField,
    /// The template: `rsig-v3` tokens joined by single spaces, variables as `<*>`.
    pub template: String,
    /// How many of the messages it was learned from it covers.
    pub member_count: u64,
    /// How many distinct `rsig-v3` templates it joins.
    pub joined_templates: u64,
    /// Up to three of those messages (the smallest of each of its first `rsig-v3` templates, cut to 500
    /// characters).
    pub examples: Vec<String>,
}

impl LearnedTemplate {
    /// Its first token (the matching index: never generalised).
    pub fn first_token(&self) -> &str {
        self.template.split(' ').next().unwrap_or("")
    }

    /// Its number of tokens.
    pub fn token_count(&self) -> usize {
        self.template.split(' ').count()
    }
}

struct Seen {
    count: u64,
    smallest: String,
}

/// Mines learned templates from `(field, message)` pairs.
pub fn mine<'a>(
    messages: impl IntoIterator<Item = (TemplateField, &'a str)>,
) -> Vec<LearnedTemplate> {
    let mut seen: HashMap<(TemplateField, String), Seen> = HashMap::new();
    for (field, message) in messages {
        let entry = seen
            .entry((field, template(message)))
            .or_insert_with(|| Seen {
                count: 0,
                smallest: message.to_owned(),
            });
        entry.count += 1;
        if message < entry.smallest.as_str() {
            entry.smallest = message.to_owned();
        }
    }
    let mut by_field: BTreeMap<TemplateField, Vec<(Vec<String>, Seen)>> = BTreeMap::new();
    for ((field, text), s) in seen {
        let tokens = text.split(' ').map(str::to_owned).collect();
        by_field.entry(field).or_default().push((tokens, s));
    }
    let mut out = Vec::new();
    for (field, mut templates) in by_field {
        templates.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend(mine_field(field, &templates));
    }
    out.sort_by(|a, b| (a.field, &a.template).cmp(&(b.field, &b.template)));
    out
}

fn is_word(token: &str) -> bool {
    token != VARIABLE && !(token.chars().count() == 1 && token.chars().all(is_delimiter))
}

fn is_delimiter(c: char) -> bool {
    "=:,;()[]{}<>\"'`|".contains(c)
}

/// Mines one field's distinct templates (sorted).
fn mine_field(field: TemplateField, templates: &[(Vec<String>, Seen)]) -> Vec<LearnedTemplate> {
    // Each distinct template's current generalisation, as an index into `general`.
    let mut general: Vec<Vec<String>> = templates.iter().map(|(t, _)| t.clone()).collect();
    let mut of: Vec<usize> = (0..templates.len()).collect();
    let longest = templates.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    loop {
        let mut changed = false;
        for position in 1..longest {
            changed |= generalise_at(&mut general, position);
        }
        if !changed {
            break;
        }
        // Merge equal generalisations, keeping the index order stable.
        let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        let mut merged = Vec::new();
        let renumber: Vec<usize> = general
            .iter()
            .map(|g| {
                *index.entry(g.clone()).or_insert_with(|| {
                    merged.push(g.clone());
                    merged.len() - 1
                })
            })
            .collect();
        for o in &mut of {
            *o = renumber[*o];
        }
        general = merged;
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); general.len()];
    for (t, g) in of.iter().enumerate() {
        members[*g].push(t);
    }
    general
        .iter()
        .zip(members)
        .filter(|(_, m)| m.len() >= 2)
        .map(|(tokens, m)| LearnedTemplate {
            field,
            template: tokens.join(" "),
            member_count: m.iter().map(|&t| templates[t].1.count).sum(),
            joined_templates: m.len() as u64,
            examples: m
                .iter()
                .take(EXAMPLES)
                .map(|&t| {
                    templates[t]
                        .1
                        .smallest
                        .chars()
                        .take(EXAMPLE_CHARS)
                        .collect()
                })
                .collect(),
        })
        .collect()
}

/// One pass at `position`: every bucket of templates equal but there that qualifies gets `<*>` there.
fn generalise_at(general: &mut [Vec<String>], position: usize) -> bool {
    let changes: Vec<usize> = {
        let mut buckets: HashMap<(&[String], &[String]), BTreeSet<&str>> = HashMap::new();
        for g in general.iter() {
            if g.len() > position && (is_word(&g[position]) || g[position] == VARIABLE) {
                buckets
                    .entry((&g[..position], &g[position + 1..]))
                    .or_default()
                    .insert(&g[position]);
            }
        }
        let qualifies = |g: &[String]| {
            buckets
                .get(&(&g[..position], &g[position + 1..]))
                .is_some_and(|values| {
                    values.contains(VARIABLE) || values.len() >= MIN_DISTINCT_WORDS
                })
        };
        general
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > position && is_word(&g[position]) && qualifies(g))
            .map(|(i, _)| i)
            .collect()
    };
    for &i in &changes {
        general[i][position] = VARIABLE.to_owned();
    }
    !changes.is_empty()
}

/// A learned template as the matcher holds it: its number, its text and its tokens.
type Candidate = (usize, String, Vec<String>);

/// Learned templates ready to match messages, by (field, token count, first token).
#[derive(Debug, Clone, Default)]
pub struct TemplateIndex {
    by_key: HashMap<(TemplateField, usize, String), Vec<Candidate>>,
}

impl TemplateIndex {
    /// Indexes `(number, field, template)` triples (the number names the template in signature inputs).
    pub fn new<'a>(templates: impl IntoIterator<Item = (usize, TemplateField, &'a str)>) -> Self {
        let mut by_key: HashMap<_, Vec<Candidate>> = HashMap::new();
        for (number, field, text) in templates {
            let tokens: Vec<String> = text.split(' ').map(str::to_owned).collect();
            let first = tokens.first().cloned().unwrap_or_default();
            by_key
                .entry((field, tokens.len(), first))
                .or_default()
                .push((number, text.to_owned(), tokens));
        }
        for candidates in by_key.values_mut() {
            candidates.sort_by(|a, b| {
                let constants = |t: &[String]| t.iter().filter(|x| *x != VARIABLE).count();
                constants(&b.2)
                    .cmp(&constants(&a.2))
                    .then_with(|| a.1.cmp(&b.1))
            });
        }
        Self { by_key }
    }

    /// Whether it holds no template.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The learned template (its number and text) matching `v3_template`, the `rsig-v3` template of `field`.
    pub fn matching(&self, field: TemplateField, v3_template: &str) -> Option<(usize, &str)> {
        let tokens: Vec<&str> = v3_template.split(' ').collect();
        let first = (*tokens.first()?).to_owned();
        self.by_key
            .get(&(field, tokens.len(), first))?
            .iter()
            .find(|(_, _, learned)| {
                learned
                    .iter()
                    .zip(&tokens)
                    .all(|(l, t)| l == VARIABLE || l == t)
            })
            .map(|(number, text, _)| (*number, text.as_str()))
    }
}

/// Signs `source` with `algorithm`; under `rsig-v3`, a message or title template that one of `index`'s learned
/// templates matches is replaced by it (the learned template is named `<prefix>#t<number>` in the inputs) before
/// hashing. Any other algorithm or mode signs as [`crate::recurrence::sign_with`] does.
pub fn sign_learned(
    algorithm: &'static dyn SignatureAlgorithm,
    source: &SignatureSource<'_>,
    index: &TemplateIndex,
    prefix: &str,
) -> Signature {
    let mut inputs = algorithm.inputs(source);
    if let Some((field, v3)) = learnable(&inputs)
        && let Some((number, learned)) = index.matching(field, v3)
    {
        let learned = learned.to_owned();
        if let Some(value) = inputs.fields.last_mut() {
            value.1 = learned;
        }
        inputs.template = Some(format!("{prefix}#t{number}"));
    }
    Signature {
        signature: algorithm.sign(&inputs),
        version: algorithm.version(),
        inputs,
    }
}

/// The field and `rsig-v3` template that learned templates may replace in `inputs`, if any.
pub fn learnable(inputs: &SignatureInputs) -> Option<(TemplateField, &str)> {
    if inputs.version != RsigV3.version() {
        return None;
    }
    let field = match inputs.mode.as_str() {
        "message" => TemplateField::ErrorMessage,
        "title" => TemplateField::Title,
        _ => return None,
    };
    let (name, value) = inputs.fields.last()?;
    (name == field.as_str()).then_some((field, value.as_str()))
}

/// The `(field, token count, first token)` a message's `rsig-v3` template is matched under (what storage looks
/// candidates up by).
pub fn match_key(v3_template: &str) -> (usize, &str) {
    (
        v3_template.split(' ').count(),
        v3_template.split(' ').next().unwrap_or(""),
    )
}

#[cfg(test)]
mod tests;
