/* proc: facts about this process that syscalls would repeat. */
#ifndef NDPQ_PROC_H
#define NDPQ_PROC_H

/* getpid(), asked of the kernel once per process (a forked child asks
 * again): every log line and temp name carries it, and an ingest of
 * 100,000 events wrote 30,000 of them. */
int proc_pid(void);

#endif
