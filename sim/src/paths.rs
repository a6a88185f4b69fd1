//! Where the simulator keeps its files under `$HVR_CONFIG`, mirroring HVR's layout where HVR has
//! one (`log/<hub>/hvr.out`, `router/<hub>/<channel>/`, `files/`).

use std::path::{Path, PathBuf};

use crate::error::{SimError, SimResult};

#[derive(Debug, Clone)]
pub struct Layout {
    config: PathBuf,
}

impl Layout {
    /// Reads `HVR_CONFIG`. It is made absolute because daemons run with `/` as working directory.
    pub fn from_env() -> SimResult<Self> {
        let raw = std::env::var_os("HVR_CONFIG")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                SimError::usage("HVR_CONFIG is not set (the simulator keeps all its state there)")
            })?;
        let path = PathBuf::from(raw);
        let config = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map_err(|e| SimError::failed(format!("current directory: {e}")))?
                .join(path)
        };
        Ok(Layout { config })
    }

    pub fn at(config: impl Into<PathBuf>) -> Self {
        Layout {
            config: config.into(),
        }
    }

    pub fn config(&self) -> &Path {
        &self.config
    }

    /// PID files, control sockets and hvrfailover's own files.
    pub fn files_dir(&self) -> PathBuf {
        self.config.join("files")
    }

    /// The simulated DBMS's database.
    pub fn db_dir(&self) -> PathBuf {
        self.config.join("simdb")
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.db_dir().join("journal")
    }

    pub fn hubs_dir(&self) -> PathBuf {
        self.config.join("hubs")
    }

    pub fn hub_dir(&self, hub: &str) -> PathBuf {
        self.hubs_dir().join(hub)
    }

    pub fn router_dir(&self, hub: &str, channel: &str) -> PathBuf {
        self.config.join("router").join(hub).join(channel)
    }

    pub fn log_dir(&self, name: &str) -> PathBuf {
        self.config.join("log").join(name)
    }

    /// HVR's per-hub log file.
    pub fn hvr_out(&self, hub: &str) -> PathBuf {
        self.log_dir(hub).join("hvr.out")
    }

    /// hvrfailover's START/STOP state file.
    pub fn failover_state(&self) -> PathBuf {
        self.files_dir().join("hvrfailover.state")
    }
}

/// Hub, channel and location names become file names: keep them to a safe alphabet.
pub fn check_name(kind: &str, name: &str) -> SimResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(SimError::usage(format!(
            "{kind} name {name:?} is not valid (use letters, digits, _ - and .; at most 64 characters)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_their_directory_are_refused() {
        assert!(check_name("hub", "hubdb").is_ok());
        assert!(check_name("channel", "my_chn-2").is_ok());
        for bad in ["", "..", "../etc", "a/b", ".hidden", "-k", "sp ace"] {
            assert!(check_name("hub", bad).is_err(), "{bad:?} accepted");
        }
    }
}
