/* log: human-readable lines on stderr; the level comes from LOG_LEVEL. */
#ifndef NDPQ_LOG_H
#define NDPQ_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

void log_init_from_env(void);
void log_set_level(log_level l);
log_level log_get_level(void);
/* Returns -1 for an unknown name. */
int log_parse_level(const char *name, log_level *out);
void log_msg(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Between log_hold and log_release (they nest), this thread's lines are
 * kept and written a few KiB at a time, whole lines only: a burst of them
 * (an ingest's batch and manifest lines, 20,000 for 20,000 batches) costs
 * a few writes instead of one each. Lines keep their own timestamps. */
void log_hold(void);
void log_release(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
