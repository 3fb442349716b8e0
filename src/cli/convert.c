/* ndpq convert: the Glue job. File mode converts the given files; manifest
 * mode converts a batch manifest into OUTPUT_ROOT/merged-parquet-DATE/. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/log.h"
#include "common/uri.h"
#include "convert/job.h"
#include "convert/manifest.h"

static const char USAGE[] =
    "usage: ndpq convert [options] FILE.ndjson... -o OUT\n"
    "       ndpq convert [options] --manifest MANIFEST.json [-o OUTPUT_ROOT] [--date YYYY-MM-DD]\n"
    "\n"
    "OUT ending in .parquet is one file; otherwise a directory of part files.\n"
    "Manifest mode writes OUTPUT_ROOT/merged-parquet-DATE/<manifest>-part-NNNNN.<codec>.parquet;\n"
    "OUTPUT_ROOT defaults to $NDPQ_HOME/buckets/$OUTPUT_BUCKET (./ndpq-data/buckets/output).\n"
    "\n"
    "options:\n"
    "  --compression C        snappy|zstd|gzip|lz4_raw|none [COMPRESSION_TYPE] (default snappy)\n"
    "  --threads N            converting threads (default: all cores); writing\n"
    "                         runs behind them on a thread of its own\n"
    "  --target-file-mb N     a part file per N MiB of input (default 128)\n"
    "  --row-group-mb N       input MiB per row group (default 64)\n"
    "  --page-kb N            page size in KiB (default 1024)\n"
    "  --no-metadata-columns  omit _processing_timestamp and _source_file\n"
    "  --report PATH          also write the JSON report to PATH\n"
    "  --date YYYY-MM-DD      the batch date (manifest mode)\n"
    "  --config FILE, --set KEY=VALUE   settings, as for the other commands\n"
    "  --input-root DIR       every input must stay beneath DIR (no .. or symlink out of it);\n"
    "                         with DIR a buckets root, inside its own bucket\n"
    "\n"
    "stdout: one JSON report. Exit 0 ok, 1 failed job (nothing committed), 2 bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ndpq convert: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'ndpq convert --help')\n");
    return EXIT_USAGE;
}

static int write_report(FILE *f, const buf *b)
{
    size_t n = fwrite(b->data, 1, b->len, f);
    return fclose(f) == 0 && n == b->len ? 0 : -1;
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int cmd_convert(int argc, char **argv)
{
    enum { O_MANIFEST = 256, O_DATE, O_COMP, O_THREADS, O_TARGET, O_RG, O_PAGE, O_NOMETA, O_REPORT, O_ROOT };
    static const struct option opts[] = {
        {"manifest", required_argument, NULL, O_MANIFEST},
        {"output", required_argument, NULL, 'o'},
        {"date", required_argument, NULL, O_DATE},
        {"compression", required_argument, NULL, O_COMP},
        {"threads", required_argument, NULL, O_THREADS},
        {"target-file-mb", required_argument, NULL, O_TARGET},
        {"row-group-mb", required_argument, NULL, O_RG},
        {"page-kb", required_argument, NULL, O_PAGE},
        {"no-metadata-columns", no_argument, NULL, O_NOMETA},
        {"report", required_argument, NULL, O_REPORT},
        CLI_SETTINGS_OPTIONS,
        {"input-root", required_argument, NULL, O_ROOT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    job_opts o;
    job_opts_default(&o);
    const char *manifest_arg = NULL, *out = NULL, *date = NULL, *report_path = NULL, *input_root = NULL;
    const char *comp = NULL;
    cli_settings cs = {0};
    int threads_given = 0;
    long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_MANIFEST: manifest_arg = optarg; break;
        case 'o': out = optarg; break;
        case O_DATE: date = optarg; break;
        case O_COMP: comp = optarg; break;
        case O_THREADS:
            if (cli_parse_long(optarg, 1, 1024, &v)) return usage_error("--threads must be 1..1024, got '%s'", optarg);
            o.threads = (int)v;
            threads_given = 1;
            break;
        case O_TARGET:
            if (cli_parse_long(optarg, 1, 1L << 20, &v)) return usage_error("--target-file-mb must be 1..1048576, got '%s'", optarg);
            o.target_file_bytes = (size_t)v << 20;
            break;
        case O_RG:
            if (cli_parse_long(optarg, 1, 1024, &v)) return usage_error("--row-group-mb must be 1..1024, got '%s'", optarg);
            o.row_group_bytes = (size_t)v << 20;
            break;
        case O_PAGE:
            if (cli_parse_long(optarg, 1, 1L << 20, &v)) return usage_error("--page-kb must be 1..1048576, got '%s'", optarg);
            o.page_bytes = (size_t)v << 10;
            break;
        case O_NOMETA: o.metadata = false; break;
        case O_REPORT: report_path = optarg; break;
        case O_ROOT: input_root = optarg; break;
        case CLI_OPT_CONFIG:
        case CLI_OPT_SET:
            if (cli_settings_opt(&cs, c, optarg, "convert") < 0) return EXIT_USAGE;
            break;
        case 'h': fputs(USAGE, stdout); return EXIT_OK;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    config cfg;
    if (cli_load_config(&cs, &cfg) != 0) return EXIT_USAGE;
    if (!comp) comp = cfg.compression; /* COMPRESSION_TYPE */
    if (cfg.convert_threads > 0 && !threads_given) o.threads = (int)cfg.convert_threads;
    if (comp && codec_parse(comp, &o.codec) != 0)
        return usage_error("unknown compression codec '%s' (snappy, zstd, gzip, lz4_raw, none)", comp);
    if (date && !(strlen(date) == 10 && date_is_ymd(date, 10)))
        return usage_error("--date must be a calendar date YYYY-MM-DD, got '%s'", date);

    job_spec s = {0};
    manifest m = {0};
    buf outdir = {0}, mpath = {0};
    char today[11], stem[512];
    err_t e = {0};
    job_report r;
    int setup_failed = 0;

    if (manifest_arg) {
        if (optind < argc) return usage_error("input files and --manifest do not mix ('%s')", argv[optind]);
        if (uri_to_path(manifest_arg, &mpath, &e) != 0 || manifest_load((char *)mpath.data, &m, &e) != 0) {
            setup_failed = 1;
        } else {
            if (!date) {
                date = date_find(manifest_arg, strlen(manifest_arg), today) ? today : NULL;
                if (!date) {
                    clock_fmt_date(clock_now_us(), today);
                    date = today;
                }
            }
            const char *root = out;
            buf rootb = {0};
            if (!root) {
                buf_appendf(&rootb, "%s/buckets/%s", cfg.home, cfg.output_bucket);
                root = buf_cstr(&rootb);
            }
            buf_appendf(&outdir, "%s/merged-parquet-%s", root, date);
            buf_free(&rootb);
            snprintf(stem, sizeof stem, "%s", basename_of((char *)mpath.data));
            size_t sl = strlen(stem);
            if (sl > 5 && strcmp(stem + sl - 5, ".json") == 0) stem[sl - 5] = '\0';
            s.inputs = (const char *const *)m.uris;
            s.ninputs = m.n;
            s.out_dir = buf_cstr(&outdir);
            s.part_stem = stem;
            s.manifest = manifest_arg;
            s.date = date;
        }
    } else {
        if (optind >= argc) return usage_error("%s", "no input files (or use --manifest)");
        if (!out) return usage_error("%s", "missing -o OUT (a .parquet file or a directory)");
        s.inputs = (const char *const *)(argv + optind);
        s.ninputs = (uint32_t)(argc - optind);
        size_t ol = strlen(out);
        if (ol > 8 && strcmp(out + ol - 8, ".parquet") == 0) s.out_file = out;
        else s.out_dir = out;
        s.date = date;
    }

    buf rootb = {0};
    if (input_root && !setup_failed) {
        if (uri_abs_path(input_root, &rootb, &e) != 0) setup_failed = 1;
        s.input_root = (char *)rootb.data;
    }
    /* An unwritable report path fails the job before anything is written. */
    FILE *report_f = NULL;
    if (report_path && !setup_failed) {
        report_f = fopen(report_path, "wb");
        if (!report_f) {
            err_sys(&e, ERR_IO, "cannot write report %s", report_path);
            setup_failed = 1;
        }
    }
    int rc;
    if (setup_failed) {
        memset(&r, 0, sizeof r);
        r.err = e;
        s.manifest = manifest_arg;
        s.date = date;
        rc = -1;
    } else {
        log_info("convert: %u input(s), %s, %d thread(s)", s.ninputs, codec_option(o.codec), o.threads);
        rc = job_run(&o, &s, &r);
    }
    if (m.duplicates) {
        char w[1024];
        snprintf(w, sizeof w, "manifest %s lists %u file(s) more than once: each is read once", manifest_arg,
                 m.duplicates);
        job_report_warn(&r, w);
    }
    if (rc != 0) log_error("convert failed: %s", r.err.msg);
    else log_info("convert: %llu records (%llu corrupt) into %u part(s) in %.3fs",
                  (unsigned long long)r.records, (unsigned long long)r.corrupt, r.nparts, r.seconds);
    buf rep = {0};
    job_report_json(&r, &o, &s, &rep);
    if (fwrite(rep.data, 1, rep.len, stdout) != rep.len || fflush(stdout) != 0) {
        log_error("cannot write the report to stdout");
        rc = -1;
    }
    if (report_f && write_report(report_f, &rep) != 0) {
        log_error("cannot write report %s", report_path);
        rc = -1;
    }
    buf_free(&rep);
    job_report_free(&r);
    manifest_free(&m);
    buf_free(&outdir);
    buf_free(&mpath);
    buf_free(&rootb);
    return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
