/* alert: SendFailureAlert. One JSON document per failed batch, appended to
 * NDPQ_HOME/alerts.jsonl, POSTed to ALERT_WEBHOOK_URL (libcurl, with
 * retries) and piped to ALERT_COMMAND when they are set. */
#ifndef NDPQ_ALERT_H
#define NDPQ_ALERT_H

#include "common/config.h"
#include "common/err.h"

/* Sends json (one line, no newline) everywhere configured. Fails only if
 * the local alerts file cannot be written; webhook and command failures
 * are logged, since the alert is already durable. alert_id (inside json
 * too) makes the file append idempotent: an alert re-sent after a crash is
 * not written twice; the webhook and command may see it again. */
int alert_send(const config *c, const char *json, const char *alert_id, err_t *e);

#endif
