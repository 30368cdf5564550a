//! The `send_email` binding (`EMAIL`), which the mail queue's consumer sends with.

use worker::{SendEmail, SendEmailBuilder};

use crate::app::mail::{Mail, Mailer};

/// The `send_email` binding, in its `{from, to, subject, text, html}` builder form.
pub struct EmailBinding(pub SendEmail);

impl Mailer for EmailBinding {
    async fn send(&self, m: &Mail) -> Result<String, String> {
        let message = SendEmailBuilder::builder(&m.from, &m.to, &m.subject)
            .text(&m.text)
            .html(&m.html)
            .build();
        match self.0.send_with_builder(&message).await {
            Ok(sent) => Ok(sent.message_id()),
            Err(e) => Err(String::from(e.message())),
        }
    }
}
