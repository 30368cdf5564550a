//! The log lines of a request, a queue batch or a cron run, written to the runtime's console
//! (which Workers Logs collect), one JSON object a line.

use crate::http::Ctx;

/// Writes out the lines `ctx` holds.
pub fn log_lines(ctx: &Ctx) {
    for line in ctx.take_lines() {
        worker::console_log!("{line}");
    }
}
