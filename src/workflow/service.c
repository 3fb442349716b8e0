#include "workflow/service.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "events/watch.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "track/track.h"
#include "workflow/runner.h"

/* --once gives up on a tracking store that keeps failing after this many
 * rounds in a row (50 ms apart: SQLite already waits out a busy store). */
#define ONCE_MAX_FILL_ERRORS 20

static volatile sig_atomic_t g_stop;
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGTERM || sig == SIGINT) g_stop = 1;
    if (g_wake[1] >= 0) {
        ssize_t w = write(g_wake[1], "x", 1);
        (void)w;
    }
    errno = saved;
}

typedef struct {
    const config *cfg;
    store *st;
    track *tr;
    ingest g;
    bool have_ingest;
    uint32_t seen;
} svc;

static void begin_round(svc *s)
{
    if (s->have_ingest) return;
    ingest_attach(&s->g, s->cfg, s->st, s->tr);
    s->have_ingest = true;
    s->seen = 0;
}

static void on_file(void *ctx, const char *key, int64_t size)
{
    svc *s = ctx;
    begin_round(s);
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "file %s", key);
    ingest_object(&s->g, s->cfg->input_bucket, key, size, where);
    s->seen++;
}

/* Settles what the round tracked (rules, manifests) and writes its report. */
static int end_round(svc *s, const char *kind, err_t *e)
{
    if (!s->have_ingest) return 0;
    int rc = ingest_settle(&s->g, e);
    if (s->seen || s->g.nmanifests || s->g.nerrors) {
        err_t re = {0};
        if (ingest_write_report(&s->g, kind, &re) != 0) log_warn("report: %s", re.msg);
        log_info("%s: %u file event(s): %llu new, %llu quarantined, %llu repeats, %u error(s), %u manifest(s)", kind,
                 s->seen, (unsigned long long)s->g.processed, (unsigned long long)s->g.quarantined,
                 (unsigned long long)s->g.duplicates, s->g.nerrors, s->g.nmanifests);
    }
    ingest_close(&s->g);
    s->have_ingest = false;
    return rc;
}

static int flush_now(svc *s, err_t *e)
{
    begin_round(s);
    TRY(ingest_flush(&s->g, NULL, e));
    return end_round(s, "flush", e);
}

/* Hidden temporary parts of jobs that died with a crash are garbage. */
static void sweep_temps(const char *outroot)
{
    DIR *d = opendir(outroot);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "merged-parquet-", 15) != 0) continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", outroot, de->d_name);
        fs_remove_dead_temps(dir, ".");
    }
    closedir(d);
}

static int64_t next_midnight_us(int64_t now)
{
    int64_t day = 86400LL * 1000000;
    return (now / day + 1) * day;
}

static void sleep_ms(int ms)
{
    struct pollfd p = {g_wake[0], POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
        char b[64];
        while (read(g_wake[0], b, sizeof b) > 0) {}
    }
}

int service_run(const config *cfg, const service_opts *o, err_t *e)
{
    svc s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    char root[CONFIG_STR + 16], inroot[CONFIG_STR * 2 + 32];
    snprintf(root, sizeof root, "%s/buckets", cfg->home);
    snprintf(inroot, sizeof inroot, "%s/%s", root, cfg->input_bucket);
    s.st = store_local_open(root, e);
    if (!s.st) return -1;
    s.tr = track_sqlite_open(cfg->tracking_table, e);
    if (!s.tr) {
        s.st->ops->close(s.st);
        return -1;
    }
    runner r;
    watch w = {.fd = -1};
    int rc = runner_init(&r, cfg, s.tr, e);
    if (rc == 0 && pipe(g_wake) != 0) rc = err_sys(e, ERR_IO, "pipe");
    if (rc == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGCHLD, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < 2; i++) {
            int fl = fcntl(g_wake[i], F_GETFL);
            fcntl(g_wake[i], F_SETFL, fl | O_NONBLOCK);
        }
    }
    /* Watch first, then scan: a file landing in between is seen twice at
     * worst, and a repeat is a no-op. */
    if (rc == 0 && !o->once) rc = watch_open(&w, inroot, e);
    if (rc == 0) {
        char outroot[CONFIG_STR * 2 + 32];
        snprintf(outroot, sizeof outroot, "%s/%s", root, cfg->output_bucket);
        sweep_temps(outroot);
        log_info("ndpq run: home %s, input %s, %d concurrent job(s)%s", cfg->home, inroot, r.max_running,
                 o->once ? ", once" : "");
        /* Crash recovery: manifests a crash left unwritten, alerts not sent. */
        begin_round(&s);
        rc = ingest_write_manifests(&s.g, e);
        if (rc == 0) rc = watch_scan(inroot, on_file, &s, e);
        if (rc == 0) rc = end_round(&s, "ingest", e);
        else end_round(&s, "ingest", &(err_t){0});
    }
    if (rc == 0) rc = flush_now(&s, e);
    if (rc == 0) rc = runner_send_alerts(&r, e);

    /* The interval runs on real time; midnight is a calendar event. */
    int64_t next_flush = clock_real_us() + (int64_t)cfg->flush_interval_s * 1000000;
    int64_t midnight = next_midnight_us(clock_now_us());
    int fill_errors = 0; /* in a row */
    while (rc == 0 && !g_stop) {
        err_t le = {0};
        if (!o->once) {
            if (watch_read(&w, on_file, &s, &le) != 0) log_error("watch: %s", le.msg);
            if (end_round(&s, "ingest", &le) != 0) log_error("ingest: %s", le.msg);
            int64_t real = clock_real_us(), cal = clock_now_us();
            if (real >= next_flush || cal >= midnight) {
                if (flush_now(&s, &le) != 0) log_error("flush: %s", le.msg);
                next_flush = real + (int64_t)cfg->flush_interval_s * 1000000;
                midnight = next_midnight_us(cal);
            }
        }
        if (runner_reap(&r, &le) < 0) log_error("runner: %s", le.msg);
        if (runner_fill(&r, &le) < 0) {
            log_error("runner: %s", le.msg);
            /* The service waits for the store to come back; --once would
             * wait forever. What it claimed goes to the next runner when
             * the lease ends. */
            if (o->once && ++fill_errors >= ONCE_MAX_FILL_ERRORS) {
                rc = err_set(e, le.code, "giving up after %d failed attempts to start jobs: %s", fill_errors,
                             le.msg);
                break;
            }
        } else {
            fill_errors = 0;
        }
        runner_heartbeat(&r);
        if (o->once && r.njobs == 0) {
            uint32_t runnable = 0, waiting = 0;
            int64_t next = 0;
            if (s.tr->ops->exec_outstanding(s.tr, clock_real_us(), &runnable, &waiting, &next, &le) != 0) {
                rc = -1;
                *e = le;
                break;
            }
            if (runnable == 0 && waiting == 0) break;
            if (runnable == 0 && waiting > 0) {
                int64_t ms = (next - clock_real_us()) / 1000;
                sleep_ms(ms < 1 ? 1 : ms > 1000 ? 1000 : (int)ms);
                continue;
            }
        }
        if (!o->once) {
            struct pollfd p[2] = {{w.fd, POLLIN, 0}, {g_wake[0], POLLIN, 0}};
            int timeout = r.njobs ? 100 : 500;
            if (poll(p, 2, timeout) > 0 && (p[1].revents & POLLIN)) {
                char b[64];
                while (read(g_wake[0], b, sizeof b) > 0) {}
            }
        } else {
            /* Nothing claimable here (another runner holds it): do not spin. */
            sleep_ms(r.njobs ? 20 : 50);
        }
    }
    if (g_stop) log_info("ndpq run: stopping; letting %d running job(s) finish (%.0f s grace)", r.njobs, o->grace_s);
    runner_stop(&r, o->grace_s);
    log_info("ndpq run: %u completed, %u failed, %u retried", r.completed, r.failed, r.retried);
    runner_free(&r);
    if (w.fd >= 0) watch_close(&w);
    for (int i = 0; i < 2; i++) {
        if (g_wake[i] >= 0) close(g_wake[i]);
        g_wake[i] = -1;
    }
    s.tr->ops->close(s.tr);
    s.st->ops->close(s.st);
    return rc;
}
