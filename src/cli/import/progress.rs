//! The import's progress: a bar with rows/s and ETA on a terminal, a plain line every few
//! seconds otherwise (logs, pipes, CI), so a log file holds no cursor movements.
//!
//! The rate is shown in whole rows per second: indicatif's own `{per_sec}` prints four
//! decimals (`54,034.9482/s`), a precision nobody watching an import can use.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressBar, ProgressState, ProgressStyle};

/// How often a non-terminal run prints a progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub(super) enum Progress {
    Bar(ProgressBar),
    Lines {
        total: Option<u64>,
        last: Mutex<Instant>,
    },
}

impl Progress {
    pub(super) fn new(total: Option<u64>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines {
                total,
                last: Mutex::new(Instant::now()),
            };
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        Progress::Bar(bar.with_style(style(total)))
    }

    pub(super) fn update(&self, rows: u64, started: Instant) {
        match self {
            Progress::Bar(bar) => bar.set_position(rows),
            Progress::Lines { total, last } => {
                let mut last = last.lock().expect("progress lock");
                if last.elapsed() >= PROGRESS_EVERY {
                    *last = Instant::now();
                    let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    let rate = HumanCount(rate.round() as u64);
                    match total {
                        Some(total) => eprintln!(
                            "imported {} of {} rows ({rate} rows/s)",
                            HumanCount(rows),
                            HumanCount(*total)
                        ),
                        None => eprintln!("imported {} rows ({rate} rows/s)", HumanCount(rows)),
                    }
                }
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// The bar's look: with a total, a bar, counts, rate and ETA; without, a spinner.
fn style(total: Option<u64>) -> ProgressStyle {
    let template = match total {
        Some(_) => "{bar:40} {human_pos}/{human_len} rows  {rate}  ETA {eta}",
        None => "{spinner} {human_pos} rows  {rate}",
    };
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let rate = state.per_sec();
                let rate = if rate.is_finite() { rate.round() } else { 0.0 };
                let _ = write!(out, "{} rows/s", HumanCount(rate as u64));
            },
        )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_shows_whole_rows_per_second() {
        for total in [Some(1_000_000), None] {
            let screen = Screen::default();
            let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
            let bar = ProgressBar::with_draw_target(total, target).with_style(style(total));
            for rows in (0..=60_000).step_by(20_000) {
                bar.set_position(rows);
                std::thread::sleep(Duration::from_millis(60));
            }
            bar.tick();
            let drawn = screen.0.lock().unwrap().clone();
            let last = drawn.lines().last().unwrap_or_default().to_string();
            let (before, _) = last.split_once(" rows/s").expect(&drawn);
            let rate = before.rsplit(' ').next().unwrap();
            assert!(
                !rate.is_empty() && rate.chars().all(|c| c.is_ascii_digit() || c == ','),
                "the rate is {rate:?} in {last:?}"
            );
        }
    }
}
