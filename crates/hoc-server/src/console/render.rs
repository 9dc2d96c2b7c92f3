//! The console's templates (compiled into the binary, escaping on: every name ends in `.html`) and the sparkline.

use std::sync::LazyLock;

use minijinja::Environment;
use time::OffsetDateTime;

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("error.html", include_str!("templates/error.html")),
    ("incidents.html", include_str!("templates/incidents.html")),
    ("incident.html", include_str!("templates/incident.html")),
    ("groups.html", include_str!("templates/groups.html")),
    ("group.html", include_str!("templates/group.html")),
    ("audit.html", include_str!("templates/audit.html")),
];

static ENVIRONMENT: LazyLock<Result<Environment<'static>, minijinja::Error>> =
    LazyLock::new(|| {
        let mut env = Environment::new();
        // Escaping follows the name: every template here ends in `.html`, so every `{{ … }}` is escaped.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(env)
    });

/// `template` rendered with `context`.
pub(super) fn render(
    template: &str,
    context: &serde_json::Value,
) -> Result<String, minijinja::Error> {
    let env = ENVIRONMENT.as_ref().map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    })?;
    env.get_template(template)?
        .render(minijinja::Value::from_serialize(context))
}

/// Occurrences over time, in equal buckets from the first to the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sparkline {
    counts: Vec<usize>,
}

/// The drawing's size in SVG user units.
const WIDTH: usize = 200;
const HEIGHT: usize = 40;

impl Sparkline {
    /// `times` counted into `buckets` equal spans from the earliest to the latest (all in one bucket when they are
    /// one instant; none when there are none).
    pub(super) fn of(times: &[OffsetDateTime], buckets: usize) -> Self {
        let buckets = buckets.max(1);
        let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
            return Self { counts: Vec::new() };
        };
        let span = (*last - *first).whole_milliseconds().max(1);
        let mut counts = vec![0; buckets];
        for t in times {
            let offset = (*t - *first).whole_milliseconds();
            let index = usize::try_from(offset * buckets as i128 / span)
                .unwrap_or(0)
                .min(buckets - 1);
            counts[index] += 1;
        }
        Self { counts }
    }

    /// The polyline's `points` attribute (numbers only), the tallest bucket at the top; empty without data.
    pub(super) fn points(&self) -> String {
        let Some(max) = self.counts.iter().copied().max().filter(|m| *m > 0) else {
            return String::new();
        };
        let n = self.counts.len();
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let x = if n == 1 { 0 } else { i * WIDTH / (n - 1) };
                let y = HEIGHT - c * HEIGHT / max;
                format!("{x},{y}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn the_sparkline_counts_into_equal_buckets() {
        let t0 = datetime!(2026-12-01 00:00 UTC);
        let times = [
            t0,
            t0 + time::Duration::minutes(1),
            t0 + time::Duration::hours(5),
            t0 + time::Duration::hours(10),
        ];
        let line = Sparkline::of(&times, 10);
        assert_eq!(line.counts, vec![2, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(
            line.points().split(' ').next(),
            Some("0,0"),
            "the tallest at the top"
        );
        assert_eq!(line.points().split(' ').next_back(), Some("200,20"));
        assert_eq!(Sparkline::of(&[], 10).points(), "");
        assert_eq!(Sparkline::of(&[t0], 10).counts.iter().sum::<usize>(), 1);
    }

    #[test]
    fn every_template_compiles_and_escapes_what_it_is_given() {
        for (name, _) in TEMPLATES {
            assert!(
                ENVIRONMENT
                    .as_ref()
                    .is_ok_and(|env| env.get_template(name).is_ok()),
                "{name}: {:?}",
                ENVIRONMENT.as_ref().err()
            );
        }
        let page = render(
            "error.html",
            &json!({ "status": 404, "code": "not_found", "message": "<script>alert(1)</script>" }),
        )
        .expect("renders");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;"), "{page}");
        assert!(!page.contains("<script>alert"), "{page}");
    }
}
