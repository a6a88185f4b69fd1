//! Log lines in HVR's style (`<time>: <component>: <message>`, errors tagged `F_J...`), written to
//! `$HVR_CONFIG/log/<hub>/hvr.out` and the daemons' own logs. Every line says it comes from the
//! simulator. The file is opened per line so hvrmaint can rotate it under a running daemon.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::timefmt::{format_utc, now_ms};

#[derive(Debug, Clone)]
pub struct Logger {
    path: PathBuf,
    component: String,
}

impl Logger {
    pub fn new(path: impl Into<PathBuf>, component: impl Into<String>) -> Self {
        Logger {
            path: path.into(),
            component: component.into(),
        }
    }

    pub fn with_component(&self, component: impl Into<String>) -> Self {
        Logger {
            path: self.path.clone(),
            component: component.into(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self, message: &str) {
        self.write(message);
    }

    /// `code` is an `W_JSIMnn` warning number.
    pub fn warn(&self, code: &str, message: &str) {
        self.write(&format!("{code}: {message}"));
    }

    /// `code` is an `F_JSIMnn` error number; hvrmaint -scan_hvr_out reports these lines.
    pub fn error(&self, code: &str, message: &str) {
        self.write(&format!("{code}: {message}"));
    }

    fn write(&self, message: &str) {
        let line = format!(
            "{}: [simulator] {}: {}\n",
            format_utc(now_ms()),
            self.component,
            message.replace('\n', " ")
        );
        if let Some(dir) = self.path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        // A daemon must not die because its log is unwritable; there is nowhere else to report.
        if let Ok(mut file) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            let _ = file.write_all(line.as_bytes());
        }
    }
}
