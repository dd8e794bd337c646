//! The run as a picture: an SVG, drawn by hand, of throughput (operations a second, coins a
//! second) and latency (p50 and p99) over time, in one-second buckets, one panel each.

use std::fmt::Write;

use crate::recorder::SecondSample;

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 200.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_RIGHT: f64 = 20.0;
const MARGIN_TOP: f64 = 40.0;
const PANEL_GAP: f64 = 60.0;
const TICKS: usize = 5;

/// One line of a panel: its name, colour and points (second, value).
struct Line<'a> {
    name: &'a str,
    colour: &'a str,
    points: Vec<(f64, f64)>,
}

/// The SVG of `series`, titled `title`.
pub fn svg(series: &[SecondSample], title: &str) -> String {
    let seconds = series.len().max(1) as f64;
    let ops = [Line {
        name: "ops/s",
        colour: "#1f77b4",
        points: series
            .iter()
            .map(|s| (s.second as f64, s.ops as f64))
            .collect(),
    }];
    let coins = [Line {
        name: "coins/s",
        colour: "#2ca02c",
        points: series
            .iter()
            .map(|s| (s.second as f64, s.coins as f64))
            .collect(),
    }];
    let latency = [
        Line {
            name: "p50 ms",
            colour: "#ff7f0e",
            points: series
                .iter()
                .filter_map(|s| s.p50_ms.map(|v| (s.second as f64, v)))
                .collect(),
        },
        Line {
            name: "p99 ms",
            colour: "#d62728",
            points: series
                .iter()
                .filter_map(|s| s.p99_ms.map(|v| (s.second as f64, v)))
                .collect(),
        },
    ];
    let panels: [(&str, &[Line<'_>]); 3] = [
        ("operations / s", &ops),
        ("coins / s", &coins),
        ("latency (ms)", &latency),
    ];
    let height = MARGIN_TOP + 3.0 * PANEL_HEIGHT + 2.0 * PANEL_GAP + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for (i, (label, lines)) in panels.iter().enumerate() {
        let top = MARGIN_TOP + i as f64 * (PANEL_HEIGHT + PANEL_GAP);
        panel(&mut out, top, seconds, label, lines);
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds since start</text>"#,
        MARGIN_LEFT + (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / 2.0,
        height - 8.0
    );
    out.push_str("</svg>\n");
    out
}

/// Draws one panel at `top`: axes, ticks, grid, lines and legend.
fn panel(out: &mut String, top: f64, seconds: f64, label: &str, lines: &[Line<'_>]) {
    let left = MARGIN_LEFT;
    let right = WIDTH - MARGIN_RIGHT;
    let bottom = top + PANEL_HEIGHT;
    let y_max = nice_max(
        lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let x = |s: f64| left + (right - left) * s / seconds;
    let y = |v: f64| bottom - (bottom - top) * v / y_max;
    let _ = writeln!(
        out,
        r##"<g><rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#333"/>
<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"##,
        right - left,
        PANEL_HEIGHT,
        top + PANEL_HEIGHT / 2.0,
        top + PANEL_HEIGHT / 2.0,
        escape(label)
    );
    for tick in 0..=TICKS {
        let value = y_max * tick as f64 / TICKS as f64;
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="#ddd"/><text x="{1}" y="{2:.1}" text-anchor="end">{3}</text>"##,
            y(value),
            left - 6.0,
            y(value) + 4.0,
            format_value(value)
        );
        let second = (seconds * tick as f64 / TICKS as f64).round();
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(second),
            bottom + 16.0,
            format_value(second)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        if !line.points.is_empty() {
            let points: Vec<String> = line
                .points
                .iter()
                .map(|(s, v)| format!("{:.1},{:.1}", x(s + 0.5), y(*v)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
                line.colour,
                points.join(" ")
            );
        }
        let legend_x = left + 10.0 + 110.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{legend_x}" y="{}" width="12" height="4" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            top - 12.0,
            line.colour,
            legend_x + 16.0,
            top - 7.0,
            escape(line.name)
        );
    }
    out.push_str("</g>\n");
}

/// A round number at or above `max` (1, 2 or 5 times a power of ten).
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|candidate| *candidate >= max)
        .unwrap_or(10.0 * power)
}

fn format_value(value: f64) -> String {
    if value >= 100.0 || value == value.round() {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(second: u64, ops: u64, p50: Option<f64>) -> SecondSample {
        SecondSample {
            second,
            ops,
            ops_by_kind: Default::default(),
            coins: ops * 4,
            errors: 0,
            p50_ms: p50,
            p99_ms: p50.map(|v| v * 3.0),
        }
    }

    /// Checks tags open and close in order (the SVG has no text with `<` in it but escaped).
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').ok_or("unclosed <")? + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if tag.starts_with('?') {
                continue;
            }
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if tag.starts_with('/') {
                let top = stack.pop().ok_or(format!("</{name}> without opening"))?;
                if top != name {
                    return Err(format!("<{top}> closed by </{name}>"));
                }
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed: {stack:?}"))
        }
    }

    #[test]
    fn the_plot_is_well_formed_svg_with_both_panels() {
        let series = vec![
            sample(0, 100, Some(2.0)),
            sample(1, 120, None),
            sample(2, 90, Some(2.5)),
        ];
        let svg = svg(&series, "closed loop <4 workers> & more");
        well_formed(&svg).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("&lt;4 workers&gt; &amp; more"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("operations / s") && svg.contains("coins / s"));
        assert!(svg.contains("latency"));
    }

    #[test]
    fn an_empty_run_still_draws() {
        let svg = svg(&[], "empty");
        well_formed(&svg).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 0);
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.7), 1.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(450.0), 500.0);
        assert_eq!(nice_max(1000.0), 1000.0);
    }

    #[test]
    fn a_broken_document_is_caught_by_the_checker() {
        assert!(well_formed("<svg><g></svg>").is_err());
        assert!(well_formed("<svg><g/></svg>").is_ok());
    }
}
