/** Record headers the inbound bridge writes; the message-id index is rebuilt from them. */

/** The message id (or `sha256:<hex of the body>` for a message that has none). */
export const MESSAGE_ID_HEADER = 'mq-message-id';
/** The queue the message was consumed from (ids are unique per queue). */
export const QUEUE_HEADER = 'mq-queue';
/** Dead letters only: why the message is poison (`PoisonReason`). */
export const DEAD_LETTER_REASON_HEADER = 'mq-dead-letter-reason';
/** Dead letters only: the reason in words (field and rule; never the offending value). */
export const DEAD_LETTER_DETAIL_HEADER = 'mq-dead-letter-detail';
/** Dead letters only: the topic the message would have gone to. */
export const TARGET_TOPIC_HEADER = 'mq-target-topic';
/** Message properties travel as `mq-property-<name>` headers (values as strings). */
export const PROPERTY_HEADER_PREFIX = 'mq-property-';
