//! Terminal colors for human output. A [`Style`] with colors off returns text
//! unchanged, so output that is not a terminal never carries escape codes.

use crate::modules::Status;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Cyan,
    Magenta,
}

#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub enabled: bool,
}

impl Style {
    pub fn new(enabled: bool) -> Style {
        Style { enabled }
    }

    pub fn paint(&self, color: Color, text: &str) -> String {
        if !self.enabled || text.is_empty() {
            return text.to_string();
        }
        let code = match color {
            Color::Red => "31",
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Cyan => "36",
            Color::Magenta => "35",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    pub fn bold(&self, text: &str) -> String {
        if !self.enabled || text.is_empty() {
            return text.to_string();
        }
        format!("\x1b[1m{text}\x1b[0m")
    }

    pub fn bold_color(&self, color: Color, text: &str) -> String {
        if !self.enabled || text.is_empty() {
            return text.to_string();
        }
        self.bold(&self.paint(color, text))
    }
}

/// The color Ansible users expect for an outcome; an ignored failure is
/// shown in the "ignored" color so it does not read as a real failure.
pub fn outcome_color(outcome: Status, ignored: bool) -> Color {
    match outcome {
        Status::Ok => Color::Green,
        Status::Changed => Color::Yellow,
        Status::Skipped => Color::Cyan,
        Status::Failed | Status::Unreachable if ignored => Color::Magenta,
        Status::Failed | Status::Unreachable => Color::Red,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_style_adds_no_escape_codes() {
        let style = Style::new(false);
        assert_eq!(style.paint(Color::Red, "failed"), "failed");
        assert_eq!(style.bold("PLAY"), "PLAY");
        assert_eq!(style.bold_color(Color::Green, "ok"), "ok");
    }

    #[test]
    fn enabled_style_wraps_and_resets() {
        let style = Style::new(true);
        assert_eq!(style.paint(Color::Red, "failed"), "\x1b[31mfailed\x1b[0m");
        assert_eq!(style.paint(Color::Red, ""), "");
    }

    #[test]
    fn ignored_failures_are_not_red() {
        assert_eq!(outcome_color(Status::Failed, false), Color::Red);
        assert_eq!(outcome_color(Status::Failed, true), Color::Magenta);
    }
}
