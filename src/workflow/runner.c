#include "workflow/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/uri.h"
#include "workflow/alert.h"

#define LEASE_SECONDS 30

static unsigned long long proc_start_time(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return 0;
    char b[1024];
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = '\0';
    const char *p = strrchr(b, ')');
    if (!p) return 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ') field++;
    unsigned long long st = 0;
    return sscanf(p, "%llu", &st) == 1 ? st : 0;
}

int runner_init(runner *r, const config *cfg, track *tr, err_t *e)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->tr = tr;
    char host[256] = "localhost";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(r->owner, sizeof r->owner, "%s:%d:%llu", host, proc_pid(), proc_start_time());
    ssize_t n = readlink("/proc/self/exe", r->self_exe, sizeof r->self_exe - 1);
    RETURN_SYSERR_IF(n <= 0, e, ERR_INTERNAL, "cannot find the ndpq executable");
    r->self_exe[n] = '\0';
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    r->max_running = cfg->max_concurrent > 0 ? (int)cfg->max_concurrent : (cores > 0 ? (int)cores : 1);
    r->lease_us = (int64_t)LEASE_SECONDS * 1000000;
    char dir[CONFIG_STR + 32];
    snprintf(dir, sizeof dir, "%s/jobs", cfg->home);
    RETURN_SYSERR_IF(mkdir(dir, 0755) != 0 && errno != EEXIST, e, ERR_IO, "cannot create %s", dir);
    return 0;
}

void runner_free(runner *r)
{
    for (int i = 0; i < r->njobs; i++) {
        free(r->jobs[i].ex.input);
        free(r->jobs[i].ex.manifest_uri);
    }
    free(r->jobs);
    memset(r, 0, sizeof *r);
}

static void hist(runner *r, const char *batch, const char *state, const char *event, const char *detail)
{
    err_t e = {0};
    if (r->tr->ops->history_add(r->tr, batch, clock_now_us(), state, event, detail, &e) != 0)
        log_warn("history for %s: %s", batch, e.msg);
}

static pid_t spawn_job(runner *r, runner_job *j, err_t *e)
{
    buf mpath = {0};
    if (uri_to_path(j->ex.manifest_uri, &mpath, e) != 0) {
        buf_free(&mpath);
        return -1;
    }
    char outroot[CONFIG_STR * 2 + 16], inroot[CONFIG_STR * 2 + 16], threads[32];
    snprintf(outroot, sizeof outroot, "%s/buckets/%s", r->cfg->home, r->cfg->output_bucket);
    /* Jobs read nothing outside the object store (each file's own bucket). */
    snprintf(inroot, sizeof inroot, "%s/buckets", r->cfg->home);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long t = r->cfg->convert_threads > 0 ? r->cfg->convert_threads : (cores > 0 ? cores : 1);
    snprintf(threads, sizeof threads, "%ld", t);
    char *argv[] = {r->self_exe, "convert", "--manifest", (char *)mpath.data, "--date", j->ex.date,
                    "-o", outroot, "--compression", (char *)r->cfg->compression, "--threads", threads,
                    "--report", j->report_path, "--input-root", inroot, NULL};
    unlink(j->report_path);
    pid_t pid = fork();
    if (pid < 0) {
        buf_free(&mpath);
        return err_sys(e, ERR_INTERNAL, "cannot start a job");
    }
    if (pid == 0) {
        /* The job dies with the service, so a restarted service never finds
         * an orphan still writing the same batch. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) _exit(111);
        int devnull = open("/dev/null", O_RDWR);
        int log = open(j->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        if (log >= 0) dup2(log, STDERR_FILENO);
        execv(r->self_exe, argv);
        _exit(127);
    }
    buf_free(&mpath);
    return pid;
}

int runner_fill(runner *r, err_t *e)
{
    int started = 0;
    while (r->njobs < r->max_running) {
        track_exec ex;
        int64_t now = clock_real_us();
        int rc = r->tr->ops->exec_claim(r->tr, r->owner, now, r->lease_us, &ex, e);
        if (rc == 1) break;
        TRY(rc);
        if (r->njobs == r->capjobs) {
            int nc = r->capjobs ? r->capjobs * 2 : 8;
            runner_job *nj = realloc(r->jobs, (size_t)nc * sizeof *nj);
            if (!nj) {
                free(ex.input);
                free(ex.manifest_uri);
                return err_set(e, ERR_NOMEM, "out of memory");
            }
            r->jobs = nj;
            r->capjobs = nc;
        }
        runner_job *j = &r->jobs[r->njobs];
        memset(j, 0, sizeof *j);
        j->ex = ex;
        int attempt = ex.attempts + 1;
        snprintf(j->report_path, sizeof j->report_path, "%s/jobs/%s-attempt%d.json", r->cfg->home, ex.batch_id,
                 attempt);
        snprintf(j->log_path, sizeof j->log_path, "%s/jobs/%s-attempt%d.log", r->cfg->home, ex.batch_id, attempt);
        if (ex.recovered) {
            log_warn("execution %s: taking over from a dead or expired owner", ex.batch_id);
            hist(r, ex.batch_id, "Recovered", "entered", "previous owner died; running again");
        }
        hist(r, ex.batch_id, "UpdateStatusProcessing", "entered", NULL);
        track_transition tr = {.batch_id = ex.batch_id, .owner = r->owner, .batch_status = TRACK_PROCESSING,
                               .exec_state = "running", .attempts = -1, .now_us = now};
        rc = r->tr->ops->exec_transition(r->tr, &tr, e);
        if (rc != 0) {
            free(ex.input);
            free(ex.manifest_uri);
            if (rc == 1) continue;
            return -1;
        }
        hist(r, ex.batch_id, "UpdateStatusProcessing", "exited", NULL);
        char detail[64];
        snprintf(detail, sizeof detail, "attempt %d of %ld", attempt, r->cfg->max_attempts);
        hist(r, ex.batch_id, "RunJob", "entered", detail);
        j->pid = spawn_job(r, j, e);
        j->started = clock_mono_s();
        if (j->pid < 0) {
            log_error("execution %s: %s", ex.batch_id, e->msg);
            j->pid = 0; /* reaped as a failure below */
        }
        r->njobs++;
        started++;
        log_info("execution %s: job started (%s, %s)", ex.batch_id, detail, ex.date);
    }
    return started;
}

/* The job's JSON report, compacted, and its "error" if any (msg). */
static char *load_report(const char *path, char *msg, size_t n)
{
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    json_error_t je;
    json_t *rep = json_loadf(f, 0, &je);
    fclose(f);
    if (rep) {
        text = json_dumps(rep, JSON_COMPACT);
        json_t *err = json_object_get(rep, "error");
        if (json_is_string(err)) snprintf(msg, n, "%s", json_string_value(err));
        json_decref(rep);
    }
    return text;
}

/* The job's error: the report's, else how the process ended. */
static char *job_error(runner_job *j, int status, long timeout_s, const char *reported)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", reported);
    if (j->timed_out) {
        snprintf(msg, sizeof msg, "job timed out after %ld s and was killed", timeout_s);
    } else if (!*msg && status >= 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            snprintf(msg, sizeof msg, "job exited with status %d (see %s)", WEXITSTATUS(status), j->log_path);
        else if (WIFSIGNALED(status))
            snprintf(msg, sizeof msg, "job killed by signal %d (see %s)", WTERMSIG(status), j->log_path);
    }
    if (!*msg && status < 0) snprintf(msg, sizeof msg, "job could not be started");
    return strdup(msg);
}

static void alert_json(runner *r, const char *alert_id, const char *batch_id, const char *date,
                       const char *manifest, int attempts, const char *error, buf *out)
{
    err_t e = {0};
    char **uris = NULL;
    uint32_t n = 0;
    r->tr->ops->batch_uris(r->tr, batch_id, &uris, &n, &e);
    char ts[32];
    clock_fmt_iso(clock_now_us(), ts);
    jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "alert", "batch failed");
    jsonw_kstr(&w, "alert_id", alert_id);
    jsonw_kstr(&w, "batch_id", batch_id);
    jsonw_kstr(&w, "date_prefix", date);
    jsonw_kstr(&w, "manifest_path", manifest);
    jsonw_key(&w, "files");
    jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < n; i++) jsonw_str(&w, uris[i]);
    jsonw_arr_end(&w);
    jsonw_kint(&w, "attempts", attempts);
    jsonw_kstr(&w, "error", error);
    jsonw_kstr(&w, "time", ts);
    jsonw_obj_end(&w);
    track_strings_free(uris, n);
}

static int send_alert(runner *r, const char *batch_id, err_t *e)
{
    track_batch_info bi;
    TRY(r->tr->ops->batch_get(r->tr, batch_id, &bi, e));
    buf mu = {0};
    /* The manifest URI is what the execution input names. */
    char manifest[600];
    snprintf(manifest, sizeof manifest, "%s/buckets/%s/%s", r->cfg->home, r->cfg->manifest_bucket, bi.b.manifest_key);
    buf abs = {0};
    uri_abs_path(manifest, &abs, e);
    uri_from_path(buf_cstr(&abs) ? (char *)abs.data : manifest, &mu);
    buf_free(&abs);
    buf j = {0};
    hist(r, batch_id, "SendFailureAlert", "entered", NULL);
    char alert_id[128];
    snprintf(alert_id, sizeof alert_id, "%s-failure-%d", batch_id, bi.failures);
    alert_json(r, alert_id, batch_id, bi.b.date, buf_cstr(&mu), bi.attempts, bi.error ? bi.error : "unknown error",
               &j);
    int rc = buf_cstr(&j) ? alert_send(r->cfg, (char *)j.data, alert_id, e) : err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0) rc = r->tr->ops->mark_alerted(r->tr, batch_id, e);
    hist(r, batch_id, "SendFailureAlert", "exited", rc == 0 ? "alert sent" : e->msg);
    if (rc == 0) hist(r, batch_id, "ExecutionFailed", "entered", bi.error);
    free(bi.error);
    buf_free(&j);
    buf_free(&mu);
    return rc;
}

int runner_send_alerts(runner *r, err_t *e)
{
    char **ids = NULL;
    uint32_t n = 0;
    TRY(r->tr->ops->unalerted(r->tr, &ids, &n, e));
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) rc = send_alert(r, ids[i], e);
    track_strings_free(ids, n);
    return rc;
}

static void finish_job(runner *r, runner_job *j, int status)
{
    err_t e = {0};
    int64_t now = clock_real_us();
    bool ok = status >= 0 && !j->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char reported[1024] = "";
    char *report = load_report(j->report_path, reported, sizeof reported);
    char *error = ok ? NULL : job_error(j, status, r->cfg->job_timeout_s, reported);
    const char *b = j->ex.batch_id;
    if (ok) {
        hist(r, b, "RunJob", "exited", "job succeeded");
        hist(r, b, "UpdateStatusCompleted", "entered", NULL);
        track_transition tr = {.batch_id = b, .owner = r->owner, .batch_status = TRACK_COMPLETED,
                               .exec_state = "succeeded", .result = report, .attempts = j->ex.attempts + 1,
                               .now_us = now};
        int rc = r->tr->ops->exec_transition(r->tr, &tr, &e);
        if (rc == 0) {
            hist(r, b, "UpdateStatusCompleted", "exited", NULL);
            hist(r, b, "ExecutionSucceeded", "entered", NULL);
            r->completed++;
            log_info("execution %s: completed", b);
        } else {
            log_warn("execution %s: %s", b, rc == 1 ? "lease lost before completion; another runner owns it" : e.msg);
        }
    } else {
        int attempts = j->ex.attempts + 1;
        hist(r, b, "RunJob", "exited", error);
        if (attempts < r->cfg->max_attempts) {
            double delay = r->cfg->retry_interval_s * pow(r->cfg->backoff_rate, attempts - 1);
            track_transition tr = {.batch_id = b, .owner = r->owner, .batch_status = TRACK_PROCESSING,
                                   .exec_state = "pending", .error = error, .attempts = attempts,
                                   .next_run_us = now + (int64_t)(delay * 1e6), .now_us = now};
            int rc = r->tr->ops->exec_transition(r->tr, &tr, &e);
            char d[1200];
            snprintf(d, sizeof d, "attempt %d of %ld failed; retry in %.1f s: %s", attempts, r->cfg->max_attempts,
                     delay, error);
            if (rc == 0) {
                hist(r, b, "Retry", "entered", d);
                r->retried++;
            }
            log_warn("execution %s: %s", b, d);
        } else {
            hist(r, b, "UpdateStatusFailed", "entered", NULL);
            track_transition tr = {.batch_id = b, .owner = r->owner, .batch_status = TRACK_FAILED,
                                   .exec_state = "failed", .error = error, .attempts = attempts, .now_us = now};
            int rc = r->tr->ops->exec_transition(r->tr, &tr, &e);
            if (rc == 0) {
                hist(r, b, "UpdateStatusFailed", "exited", error);
                r->failed++;
                log_error("execution %s: failed after %d attempt(s): %s", b, attempts, error);
                if (send_alert(r, b, &e) != 0) log_error("alert for %s: %s", b, e.msg);
            }
        }
    }
    free(report);
    free(error);
}

static void remove_job(runner *r, int i)
{
    free(r->jobs[i].ex.input);
    free(r->jobs[i].ex.manifest_uri);
    r->jobs[i] = r->jobs[--r->njobs];
}

int runner_reap(runner *r, err_t *e)
{
    (void)e;
    int ended = 0;
    double now = clock_mono_s();
    for (int i = 0; i < r->njobs;) {
        runner_job *j = &r->jobs[i];
        if (j->pid == 0) {
            finish_job(r, j, -1);
            remove_job(r, i);
            ended++;
            continue;
        }
        if (r->cfg->job_timeout_s > 0 && !j->timed_out && now - j->started > (double)r->cfg->job_timeout_s) {
            log_error("execution %s: job exceeded JOB_TIMEOUT_SECONDS=%ld, killing it", j->ex.batch_id,
                      r->cfg->job_timeout_s);
            kill(j->pid, SIGKILL);
            j->timed_out = true;
        }
        int status;
        pid_t p = waitpid(j->pid, &status, WNOHANG);
        if (p == j->pid) {
            finish_job(r, j, status);
            remove_job(r, i);
            ended++;
            continue;
        }
        i++;
    }
    return ended;
}

void runner_heartbeat(runner *r)
{
    double now = clock_mono_s();
    if (now - r->last_renew < LEASE_SECONDS / 6.0) return;
    r->last_renew = now;
    int64_t until = clock_real_us() + r->lease_us;
    for (int i = 0; i < r->njobs; i++) {
        err_t e = {0};
        int rc = r->tr->ops->exec_renew(r->tr, r->jobs[i].ex.batch_id, r->owner, until, &e);
        if (rc == 1) log_warn("execution %s: lease lost", r->jobs[i].ex.batch_id);
        else if (rc != 0) log_warn("execution %s: renewing lease: %s", r->jobs[i].ex.batch_id, e.msg);
    }
}

void runner_stop(runner *r, double grace_s)
{
    double until = clock_mono_s() + grace_s;
    err_t e = {0};
    while (r->njobs > 0 && clock_mono_s() < until) {
        runner_reap(r, &e);
        runner_heartbeat(r);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < r->njobs; i++) {
        runner_job *j = &r->jobs[i];
        if (j->pid > 0) {
            kill(j->pid, SIGKILL);
            waitpid(j->pid, NULL, 0);
        }
        /* Hand the execution back untouched: it was interrupted, not failed. */
        track_transition tr = {.batch_id = j->ex.batch_id, .owner = r->owner, .batch_status = TRACK_MANIFESTED,
                               .exec_state = "pending", .attempts = -1, .now_us = clock_real_us()};
        if (r->tr->ops->exec_transition(r->tr, &tr, &e) == 0)
            hist(r, j->ex.batch_id, "RunJob", "exited", "interrupted by shutdown; will run again");
        log_warn("execution %s: interrupted by shutdown, handed back", j->ex.batch_id);
    }
    while (r->njobs > 0) remove_job(r, r->njobs - 1);
}
