-- v2, a job whose sends keep failing: the queue message that last counted toward the hourly cap.
-- The queue delivers a failed message again with the same id; counting every delivery let a
-- job's own retries reach the cap, and its last delivery was then acknowledged as capped
-- instead of going to the dead-letter queue. A delivery of the message already counted is not
-- counted again.
ALTER TABLE email_sends ADD COLUMN last_message_id TEXT;
