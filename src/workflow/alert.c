#include "workflow/alert.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static int append_line(const char *path, const char *json, err_t *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    RETURN_SYSERR_IF(fd < 0, e, ERR_IO, "cannot open %s", path);
    size_t n = strlen(json);
    char *line = malloc(n + 1);
    if (!line) {
        close(fd);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    memcpy(line, json, n);
    line[n] = '\n';
    /* One write, so concurrent writers never interleave lines. */
    ssize_t w = write(fd, line, n + 1);
    free(line);
    int rc = (w == (ssize_t)(n + 1) && fsync(fd) == 0) ? 0 : err_sys(e, ERR_IO, "cannot write %s", path);
    close(fd);
    return rc;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* libcurl is opened when the first webhook is posted, not linked: with
 * its TLS, LDAP and Kerberos libraries it took 14 of every process's 17 ms
 * to start, and only the service's alerts use it. */
static struct {
    bool tried, ok;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} cu;

static bool curl_load(void)
{
    if (cu.tried) return cu.ok;
    cu.tried = true;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        log_warn("cannot post alerts: %s", dlerror());
        return false;
    }
#define CURL_SYM(field, name) *(void **)&cu.field = dlsym(h, name)
    CURL_SYM(global_init, "curl_global_init");
    CURL_SYM(easy_init, "curl_easy_init");
    CURL_SYM(easy_setopt, "curl_easy_setopt");
    CURL_SYM(easy_perform, "curl_easy_perform");
    CURL_SYM(easy_getinfo, "curl_easy_getinfo");
    CURL_SYM(easy_cleanup, "curl_easy_cleanup");
    CURL_SYM(easy_strerror, "curl_easy_strerror");
    CURL_SYM(slist_append, "curl_slist_append");
    CURL_SYM(slist_free_all, "curl_slist_free_all");
#undef CURL_SYM
    cu.ok = cu.global_init && cu.easy_init && cu.easy_setopt && cu.easy_perform && cu.easy_getinfo &&
            cu.easy_cleanup && cu.easy_strerror && cu.slist_append && cu.slist_free_all;
    if (!cu.ok) log_warn("cannot post alerts: libcurl.so.4 lacks a function ndpq uses");
    else cu.global_init(CURL_GLOBAL_DEFAULT);
    return cu.ok;
}

static void post_webhook(const char *url, const char *json)
{
    if (!curl_load()) return;
    for (int attempt = 1; attempt <= 4; attempt++) {
        CURL *c = cu.easy_init();
        if (!c) return;
        struct curl_slist *h = cu.slist_append(NULL, "Content-Type: application/json");
        cu.easy_setopt(c, CURLOPT_URL, url);
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, json);
        cu.easy_setopt(c, CURLOPT_HTTPHEADER, h);
        cu.easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        CURLcode rc = cu.easy_perform(c);
        long status = 0;
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        cu.slist_free_all(h);
        cu.easy_cleanup(c);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            log_info("alert posted to %s (HTTP %ld)", url, status);
            return;
        }
        log_warn("alert POST to %s failed (attempt %d): %s, HTTP %ld", url, attempt,
                 rc == CURLE_OK ? "bad status" : cu.easy_strerror(rc), status);
        /* A 4xx other than 429 will not get better with retries. */
        if (rc == CURLE_OK && status >= 400 && status < 500 && status != 429) return;
        if (attempt < 4) {
            struct timespec ts = {0, 250000000L << (attempt - 1)};
            if (ts.tv_nsec >= 1000000000L) { ts.tv_sec = ts.tv_nsec / 1000000000L; ts.tv_nsec %= 1000000000L; }
            nanosleep(&ts, NULL);
        }
    }
}

static void run_command(const char *cmd, const char *json)
{
    int p[2];
    if (pipe(p) != 0) return;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0) {
        dup2(p[0], STDIN_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    size_t n = strlen(json);
    ssize_t w = write(p[1], json, n);
    ssize_t w2 = write(p[1], "\n", 1);
    (void)w;
    (void)w2;
    close(p[1]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) log_warn("ALERT_COMMAND exited with status %d", st);
}

static bool already_written(const char *path, const char *alert_id)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char needle[256];
    snprintf(needle, sizeof needle, "\"alert_id\":\"%s\"", alert_id);
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&line, &cap, f) > 0) found = strstr(line, needle) != NULL;
    free(line);
    fclose(f);
    return found;
}

int alert_send(const config *c, const char *json, const char *alert_id, err_t *e)
{
    char path[CONFIG_STR + 32];
    snprintf(path, sizeof path, "%s/alerts.jsonl", c->home);
    if (already_written(path, alert_id)) log_info("alert %s is already in %s", alert_id, path);
    else TRY(append_line(path, json, e));
    if (*c->alert_webhook) post_webhook(c->alert_webhook, json);
    if (*c->alert_command) run_command(c->alert_command, json);
    return 0;
}
