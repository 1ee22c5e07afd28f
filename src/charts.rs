//! Charts drawn on the server as SVG, so a page shows them without
//! JavaScript: a horizontal bar chart of counts per option (poll results;
//! PB rounds reuse it for votes per project and the budget used). The chart
//! is a picture of numbers the page also gives exactly: every page that
//! draws one puts a data table beside it, which is what screen readers and
//! copy-paste use.
//!
//! The markup is built here rather than in a template so that every page
//! draws bars the same way; every text in it is escaped.

use std::fmt::Write as _;

use crate::i18n::Lang;
use crate::petition_pages::axis;

/// One bar: its label, the value that sets its length, and the value as
/// the page writes it (a count, an amount of money, a percentage).
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub value_text: String,
    /// Drawn in the winners' colour.
    pub highlight: bool,
}

impl Bar {
    /// A bar for a whole-number count, written with the language's digit
    /// grouping.
    pub fn count(label: impl Into<String>, value: u64, highlight: bool, lang: Lang) -> Self {
        Self {
            label: label.into(),
            value,
            value_text: lang.number(value),
            highlight,
        }
    }
}

/// Layout of the bar chart, in SVG user units.
const WIDTH: f64 = 480.0;
/// Room right of the longest bar for its value.
const VALUE_ROOM: f64 = 56.0;
/// Height of the tick labels above the first row.
const TOP: f64 = 28.0;
/// One row: the label's line, then the bar.
const ROW: f64 = 56.0;
const LABEL_DY: f64 = 16.0;
const BAR_DY: f64 = 23.0;
const BAR_HEIGHT: f64 = 22.0;
/// Labels longer than this many characters are cut (with "…") in the
/// picture; the data table beside it has them whole.
const LABEL_MAX_CHARS: usize = 56;

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(s: &str) -> String {
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

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_MAX_CHARS {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(LABEL_MAX_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Rounds to one decimal and drops a trailing `.0`, to keep the markup small.
fn r1(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The length of a bar for `value` on an axis running to `top`.
pub fn bar_length(value: u64, top: u64) -> f64 {
    if top == 0 {
        return 0.0;
    }
    value.min(top) as f64 / top as f64 * (WIDTH - VALUE_ROOM)
}

/// A horizontal bar chart of `bars`, in their order, as an `<svg>`
/// element: each bar's label above it, its value at its end, and a value
/// axis with round steps (labelled in `lang`) across the top. `id` makes
/// the title's and description's element ids unique on the page.
pub fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar], lang: Lang) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let (step, top) = axis(max);
    let height = TOP + ROW * bars.len() as f64 + 8.0;
    let bottom = height - 8.0;
    let id = escape(id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart bar-chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" data-testid="bar-chart"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc><g aria-hidden="true">"#,
        w = r1(WIDTH),
        h = r1(height),
        title = escape(title),
        desc = escape(desc),
    );
    for i in 0..=top / step {
        let x = bar_length(i * step, top);
        let anchor = if i == 0 { "start" } else { "middle" };
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{x}" x2="{x}" y1="{y1}" y2="{y2}"></line><text class="tick" x="{x}" y="16" text-anchor="{anchor}">{label}</text>"#,
            x = r1(x),
            y1 = r1(TOP - 6.0),
            y2 = r1(bottom),
            label = escape(&lang.number(i * step)),
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let len = bar_length(b.value, top);
        let class = if b.highlight { "bar win" } else { "bar" };
        let _ = write!(
            svg,
            r#"<g class="bar-row" data-value="{value}"><title>{full}: {value_text}</title><text class="bar-label" x="0" y="{ly}">{label}</text><rect class="{class}" x="0" y="{by}" width="{len}" height="{bh}"></rect><text class="bar-value" x="{vx}" y="{vy}" dy="0.35em">{value_text}</text></g>"#,
            value = b.value,
            full = escape(&b.label),
            value_text = escape(&b.value_text),
            ly = r1(y + LABEL_DY),
            label = escape(&short(&b.label)),
            by = r1(y + BAR_DY),
            len = r1(len),
            bh = r1(BAR_HEIGHT),
            vx = r1(len + 6.0),
            vy = r1(y + BAR_DY + BAR_HEIGHT / 2.0),
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="0" x2="0" y1="{y1}" y2="{y2}"></line></g></svg>"#,
        y1 = r1(TOP - 6.0),
        y2 = r1(bottom),
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `width` of every bar rectangle, in order.
    fn widths(svg: &str) -> Vec<f64> {
        svg.split("<rect ")
            .skip(1)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bar_lengths_are_proportional_to_values() {
        let bars = [
            Bar::count("a", 10, true, Lang::En),
            Bar::count("b", 5, false, Lang::En),
            Bar::count("c", 0, false, Lang::En),
            Bar::count("d", 3, false, Lang::En),
        ];
        let svg = bar_chart("c1", "T", "D", &bars, Lang::En);
        let w = widths(&svg);
        assert_eq!(w.len(), 4);
        // The axis runs to 10 (steps of 2): the longest bar fills it.
        assert!((w[0] - (WIDTH - VALUE_ROOM)).abs() < 0.06, "{w:?}");
        assert!((w[1] * 2.0 - w[0]).abs() < 0.2, "{w:?}");
        assert_eq!(w[2], 0.0);
        assert!((w[3] / w[0] - 0.3).abs() < 0.001, "{w:?}");
        assert_eq!(svg.matches("class=\"bar win\"").count(), 1);
        assert_eq!(svg.matches("class=\"tick\"").count(), 6, "0, 2, …, 10");
        assert!(svg.contains(">10</text>"));
    }

    #[test]
    fn axis_rounds_up_and_bars_stay_inside() {
        let bars = [
            Bar::count("x", 7, false, Lang::Ru),
            Bar::count("y", 1, false, Lang::Ru),
        ];
        let svg = bar_chart("c", "T", "D", &bars, Lang::Ru);
        let w = widths(&svg);
        // 7 on an axis to 8.
        assert!(
            (w[0] - 7.0 / 8.0 * (WIDTH - VALUE_ROOM)).abs() < 0.06,
            "{w:?}"
        );
        assert!((w[1] - (WIDTH - VALUE_ROOM) / 8.0).abs() < 0.06, "{w:?}");
        assert!(w.iter().all(|&x| x <= WIDTH - VALUE_ROOM));
    }

    #[test]
    fn no_votes_draws_empty_bars() {
        let bars = [
            Bar::count("x", 0, true, Lang::En),
            Bar::count("y", 0, true, Lang::En),
        ];
        let svg = bar_chart("c", "T", "D", &bars, Lang::En);
        assert_eq!(widths(&svg), [0.0, 0.0]);
    }

    #[test]
    fn texts_are_escaped() {
        let bars = [Bar {
            label: "<script>alert('x')</script> & \"co\"".into(),
            value: 1_234,
            value_text: Lang::Ru.number(1_234),
            highlight: false,
        }];
        let svg = bar_chart("id\"x", "a<b", "c&d", &bars, Lang::Ru);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;")
        );
        assert!(svg.contains("<title id=\"id&quot;x-title\">a&lt;b</title>"));
        assert!(svg.contains("<desc id=\"id&quot;x-desc\">c&amp;d</desc>"));
        assert!(svg.contains("1\u{a0}234"));
    }

    #[test]
    fn long_labels_are_cut_in_the_picture_only() {
        let long = "x".repeat(200);
        let svg = bar_chart(
            "c",
            "T",
            "D",
            &[Bar::count(long.clone(), 1, false, Lang::En)],
            Lang::En,
        );
        // The hover title has it whole; the drawn label is cut.
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
        assert!(svg.contains(&format!(">{}…</text>", "x".repeat(LABEL_MAX_CHARS - 1))));
    }
}
