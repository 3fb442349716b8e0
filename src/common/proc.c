#include "common/proc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int g_pid; /* 0: not asked yet in this process */

static void forget_pid(void) { atomic_store_explicit(&g_pid, 0, memory_order_relaxed); }

static void watch_forks(void) { pthread_atfork(NULL, NULL, forget_pid); }

int proc_pid(void)
{
    int pid = atomic_load_explicit(&g_pid, memory_order_relaxed);
    if (pid) return pid;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, watch_forks);
    pid = (int)getpid();
    atomic_store_explicit(&g_pid, pid, memory_order_relaxed);
    return pid;
}
