//! The `EMAIL_QUEUE` Queue, which this Worker both produces and consumes: a request's mail jobs
//! are sent once its response is on its way, and the consumer hands each message to the core
//! (`app::consumer`), which decides; here only the messages are read, acked and retried.

use crate::log_fields;
use worker::{Context, Date, Env, MessageBatch, MessageExt};

use super::console;
use super::d1::D1Store;
use super::env::isolate;
use super::js::{self, Binding};
use super::send_email::EmailBinding;
use crate::app::mail::{self, MailJob, MailQueue};
use crate::config::names;
use crate::http::{self, Ctx};

/// The producer side of the queue.
struct QueueProducer(Binding);

impl MailQueue for QueueProducer {
    async fn enqueue(&self, jobs: &[MailJob]) -> Result<(), String> {
        // Each body is the job's JSON parsed into a JS object: the consumer reads it back
        // through its JSON text (`mail_job`).
        let mut messages = Vec::with_capacity(jobs.len());
        for job in jobs {
            let json = serde_json::to_string(job).map_err(|e| e.to_string())?;
            let body = worker::js_sys::JSON::parse(&json).map_err(|e| js::error_text(&e))?;
            // `json`, as `worker`'s `send_batch` set it: the body stays readable to anything
            // that inspects the queue (the dashboard, a pull consumer), whatever the
            // compatibility flags say the default is.
            messages.push(js::object(&[
                ("body", body),
                ("contentType", "json".into()),
            ]));
        }
        let messages: worker::js_sys::Array = messages.iter().collect();
        self.0.call("sendBatch", &[messages.into()]).await.map(drop)
    }
}

/// Sends a request's mail jobs to the queue once the response is on its way (`waitUntil`), so
/// neither the queue's latency nor whether there was a job shows in the response time.
pub fn dispatch_mail(jobs: Vec<MailJob>, env: &Env, wctx: &Context, ctx: &Ctx) {
    if jobs.is_empty() {
        return;
    }
    let producer = match Binding::of(env, names::EMAIL_QUEUE) {
        Ok(q) => QueueProducer(q),
        Err(e) => {
            ctx.log(
                "error",
                "email_queue_failed",
                log_fields!({ "jobs": jobs.len(), "cause": e }),
            );
            return;
        }
    };
    let (request_id, now_ms) = (ctx.request_id.clone(), ctx.now_ms);
    wctx.wait_until(async move {
        let ctx = Ctx::new(request_id, now_ms);
        mail::flush(&producer, &jobs, &ctx).await;
        console::log_lines(&ctx);
    });
}

/// The consumer: hands each job to the core ([`crate::app::consumer::process`]: account
/// lookup, hourly cap, token, send), acknowledging what is done with and retrying what failed
/// (after `max_retries` the queue moves it to the dead-letter queue). A body that is not a job
/// is dropped with a log line: retrying cannot fix it. Never fails as a whole, so one bad
/// message never makes the others retry.
pub async fn consume(batch: MessageBatch<MailJob>, env: Env) {
    let ctx = Ctx::new(http::request_id(None), Date::now().as_millis() as i64);
    let setup = isolate(&env).and_then(|isolate| {
        let mailer = env.send_email(names::EMAIL).map_err(|e| e.to_string())?;
        let db = env.d1(names::DB).map_err(|e| e.to_string())?;
        Ok((isolate, EmailBinding(mailer), D1Store(db)))
    });
    // Raw messages, each body decoded here: with `iter()`, a body that does not decode comes
    // back as an error without its message, so it could be neither logged by id nor acked.
    for message in batch.raw_iter() {
        let (isolate, mailer, db) = match &setup {
            Ok(s) => s,
            Err(why) => {
                ctx.log(
                    "error",
                    "email_failed",
                    log_fields!({ "queue_message_id": message.id(), "cause": why, "retry": true }),
                );
                message.retry();
                continue;
            }
        };
        match mail_job(&message.body()) {
            Ok(job) => {
                let id = message.id();
                let outcome = crate::app::consumer::process(
                    &job,
                    db,
                    mailer,
                    &isolate.config.email,
                    &id,
                    &ctx,
                )
                .await;
                if outcome.acknowledged() {
                    message.ack();
                } else {
                    message.retry();
                }
            }
            Err(cause) => {
                ctx.log(
                    "error",
                    "email_dropped",
                    log_fields!({ "queue_message_id": message.id(), "cause": cause }),
                );
                message.ack();
            }
        }
    }
    console::log_lines(&ctx);
}

/// A queue message's body as a [`MailJob`]. The body is the object [`QueueProducer`] sent (or
/// an earlier version's producer, which sent the same object); it is read back through its JSON
/// text, with the same `serde_json` reader as every other JSON in the Worker (no second
/// deserializer in the wasm).
fn mail_job(body: &worker::wasm_bindgen::JsValue) -> Result<MailJob, String> {
    let text = worker::js_sys::JSON::stringify(body)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| "the body is not JSON".to_owned())?;
    serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())
}
