//! What commands print: aligned tables for people, JSON with `--json`, and
//! progress bars on stderr only when a person is watching.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::Failure;

/// Where and how a command reports.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Machine output: one JSON document on stdout, no progress bars.
    pub json: bool,
}

impl Output {
    /// Output in JSON or for people.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Prints text for people (nothing in JSON mode).
    pub fn text(&self, text: &str) -> Result<(), Failure> {
        if self.json {
            return Ok(());
        }
        write_stdout(text)
    }

    /// Prints `value` as pretty JSON (nothing in text mode).
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Failure> {
        if !self.json {
            return Ok(());
        }
        let mut doc =
            serde_json::to_string_pretty(value).map_err(|e| Failure::new(format!("cannot print JSON: {e}")))?;
        doc.push('\n');
        write_stdout(&doc)
    }

    /// A bar counting to `len`, or a spinner counting up when the total is
    /// unknown; hidden for `--json`, for no work, and when stderr is not a terminal.
    pub fn progress(&self, len: Option<u64>, message: &str) -> ProgressBar {
        if self.json || len == Some(0) || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = match len {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({eta} left)")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg}: {pos} so far ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(format!("cannot write to stdout: {e}"))),
    }
}

/// Columns padded to their widest cell, two spaces apart, headers first.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
            s.extend(std::iter::repeat_n(' ', pad));
        }
        // The last column's padding is invisible and breaks copy-paste.
        let mut s = s.trim_end().to_owned();
        s.push('\n');
        s
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `label  value` lines with the values aligned.
pub fn pairs(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(format!("{k:width$}  {v}").trim_end());
        out.push('\n');
    }
    out
}

/// "1 delivery" / "3 deliveries".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_align_to_the_widest_cell() {
        let t = table(&["ID", "STATUS"], &[vec!["ep_1".into(), "active".into()], vec!["ep_22222".into(), "-".into()]]);
        assert_eq!(t, "ID        STATUS\nep_1      active\nep_22222  -\n");
    }

    #[test]
    fn table_lines_carry_no_trailing_spaces() {
        let t = table(&["A", "B"], &[vec!["long value".into(), String::new()]]);
        assert!(t.lines().all(|l| !l.ends_with(' ')), "{t:?}");
    }

    #[test]
    fn pairs_align_values() {
        assert_eq!(pairs(&[("id", "ep_1".into()), ("status", "active".into())]), "id      ep_1\nstatus  active\n");
    }

    #[test]
    fn counts_use_the_singular_for_one() {
        assert_eq!(count(1, "delivery", "deliveries"), "1 delivery");
        assert_eq!(count(0, "delivery", "deliveries"), "0 deliveries");
    }
}
