//! HVR option files (hvrmaint, hvrlogrelease): options such as `-hub=hubdb`, `-scan_hvr_out`
//! or `-logrelease_expire=7d`, separated by blanks or line breaks; `#` starts a comment.

use std::path::Path;

use crate::error::{Context, SimError, SimResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionEntry {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionFile {
    pub options: Vec<OptionEntry>,
    /// Words that are not options, e.g. a hub name given without `-hub=`.
    pub operands: Vec<String>,
}

impl OptionFile {
    pub fn read(path: &Path) -> SimResult<Self> {
        let text = std::fs::read_to_string(path)
            .context(|| format!("reading option file {}", path.display()))?;
        Self::parse(&text).map_err(|e| SimError::usage(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut file = OptionFile::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            for word in line.split_whitespace() {
                match word.strip_prefix('-') {
                    Some(body) if !body.is_empty() => {
                        let (name, value) = match body.split_once('=') {
                            Some((n, v)) => (n, Some(v.to_string())),
                            None => (body, None),
                        };
                        if name.is_empty() {
                            return Err(format!("option {word:?} has no name"));
                        }
                        file.options.push(OptionEntry {
                            name: name.to_string(),
                            value,
                        });
                    }
                    _ => file.operands.push(word.to_string()),
                }
            }
        }
        Ok(file)
    }

    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.name == name)
    }

    /// The last value given for `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_deref())
    }

    /// The hub: `-hub=NAME`, else a lone operand.
    pub fn hub(&self) -> Option<&str> {
        let lone = match self.operands.as_slice() {
            [only] => Some(only.as_str()),
            _ => None,
        };
        self.value("hub").or(lone)
    }

    pub fn unknown<'a>(&'a self, known: &[&str]) -> Vec<&'a str> {
        self.options
            .iter()
            .map(|o| o.name.as_str())
            .filter(|n| !known.contains(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options_values_comments_and_operands() {
        let file = OptionFile::parse(
            "# hvrmaint options\n-hub=hubdb -scan_hvr_out\n-archive_files=5   # keep five\n-env=A=B\n",
        )
        .unwrap();
        assert_eq!(file.hub(), Some("hubdb"));
        assert!(file.has("scan_hvr_out"));
        assert_eq!(file.value("scan_hvr_out"), None);
        assert_eq!(file.value("archive_files"), Some("5"));
        assert_eq!(file.value("env"), Some("A=B"));
        assert_eq!(
            file.unknown(&["hub", "scan_hvr_out", "archive_files"]),
            vec!["env"]
        );
    }

    #[test]
    fn hub_may_be_a_lone_operand() {
        let file = OptionFile::parse("-test_scheduler hubdb\n").unwrap();
        assert_eq!(file.hub(), Some("hubdb"));
        assert!(OptionFile::parse("-=x").is_err());
    }
}
