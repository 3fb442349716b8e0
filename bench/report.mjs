#!/usr/bin/env node
// Summarises bench/run.sh's measurements: medians, MB/s, RSS, sizes, ratios.
//
//   node bench/report.mjs MEASUREMENTS.tsv DATA_ROOT RESULTS.json
//
// MB = 10^6 bytes of NDJSON input, MiB = 2^20 bytes of RSS.
//
// DuckDB runs inside node. To be fair to DuckDB, the headline ratios compare
// ndpq with DuckDB *minus* the harness floor measured by `duckdb.mjs baseline`
// (node + DuckDB loaded, SELECT 1): its median wall time is taken off DuckDB's
// time and its median peak RSS off DuckDB's peak RSS. The raw figures are in
// the table and in results.json too.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const [measPath, dataRoot, outPath] = process.argv.slice(2);
const env = process.env;
const MB = env.BENCH_MB || '200';

const rows = fs.readFileSync(measPath, 'utf8').trim().split('\n').slice(1).filter(Boolean).map((l) => {
  const [set, tool, threads, rep, seconds, rss, bytes, disk, user, sys] = l.split('\t');
  const num = (x) => (x === undefined || x === '' ? null : Number(x));
  return {
    set, tool, threads: Number(threads), rep: Number(rep), seconds: Number(seconds), rss_kib: Number(rss), out_bytes: Number(bytes),
    disk_kib: num(disk), user_s: num(user), sys_s: num(sys),
  };
});

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  if (!n) return null;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}
const r2 = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const ratio = (a, b) => (a === null || b === null || !b ? null : a / b);

// The machine's own 2-vs-1 ceiling (run.sh, "machine"): per repeat, the
// pair's combined rate while both ran, over the fastest lone run's rate (a
// lone run that met a busy host would make the ceiling look higher than it
// is). When one of the pair ends first, the other finishes alone at the
// lone rate: only the part it did before that counts as done while paired.
function pairRatio(pair, alone) {
  if (pair.length !== 2 || !pair.every((x) => x > 0)) return null;
  const [first, last] = [Math.min(...pair), Math.max(...pair)];
  return (2 - Math.min(1, (last - first) / alone)) * alone / first;
}
// Per repeat: the pair of `tool` rows of `set`, as ratios (nulls dropped).
function pairRatios(set, tool, alone) {
  const reps = [...new Set(rows.filter((r) => r.set === set && r.tool === tool).map((r) => r.rep))];
  return reps.map((rep) => {
    const pair = rows.filter((r) => r.set === set && r.tool === tool && r.rep === rep).map((r) => r.seconds);
    return { pair, ceiling: pairRatio(pair, alone) };
  }).filter((p) => p.ceiling !== null);
}
const cpuAlone = rows.filter((r) => r.tool === 'cpu-alone');
const fastest = Math.min(...cpuAlone.map((r) => r.seconds));
const machine = cpuAlone.length ? (() => {
  const per = pairRatios('-', 'cpu-pair', fastest);
  return per.length ? {
    runs: per.length, alone_s: fastest, pairs: per.map((p) => p.pair),
    ceiling: median(per.map((p) => p.ceiling)),
  } : null;
})() : null;

// The same ceiling for this work (run.sh, "ndpq-pair"): two 1-thread ndpq
// jobs of a set at once, against the fastest 1-thread run of that set in the
// convert stage (the same command). What no 2-thread job can pass here.
function pairCeiling(set) {
  const lone = rows.filter((r) => r.set === set && r.tool === 'ndpq' && r.threads === 1).map((r) => r.seconds);
  if (!lone.length) return null;
  const per = pairRatios(set, 'ndpq-pair', Math.min(...lone)).map((p) => p.ceiling);
  return per.length ? { runs: per.length, ceiling: median(per), each: per } : null;
}

// CPU seconds of a set of runs: medians of each run's user + system time,
// of its user time and of its system time (none where GNU time gave none).
function cpuOf(rs) {
  const c = rs.filter((r) => r.user_s !== null && r.sys_s !== null);
  return c.length ? {
    cpu_s_median: median(c.map((r) => r.user_s + r.sys_s)),
    user_s_median: median(c.map((r) => r.user_s)),
    sys_s_median: median(c.map((r) => r.sys_s)),
  } : {};
}

const base = rows.filter((r) => r.tool === 'baseline');
const baseline = base.length ? {
  seconds_median: median(base.map((r) => r.seconds)),
  rss_kib_median: median(base.map((r) => r.rss_kib)),
  ...cpuOf(base),
  seconds_all: base.map((r) => r.seconds),
  rss_kib_all: base.map((r) => r.rss_kib),
} : null;

function summarize(set, tool, threads, bytesIn) {
  const rs = rows.filter((r) => r.set === set && r.tool === tool && r.threads === threads);
  if (!rs.length) return null;
  const secs = median(rs.map((r) => r.seconds));
  const rss = median(rs.map((r) => r.rss_kib));
  const s = {
    runs: rs.length,
    seconds_all: rs.map((r) => r.seconds),
    rss_kib_all: rs.map((r) => r.rss_kib),
    seconds_median: secs,
    rss_kib_median: rss,
    mb_per_s: bytesIn / 1e6 / Math.max(secs, 0.01),
    rss_mib: rss / 1024,
    out_bytes: rs[rs.length - 1].out_bytes,
    ...cpuOf(rs),
  };
  if (tool === 'duckdb' && baseline) {
    const adjSecs = Math.max(secs - baseline.seconds_median, 0.01);
    s.seconds_minus_baseline = adjSecs;
    s.mb_per_s_minus_baseline = bytesIn / 1e6 / adjSecs;
    s.rss_mib_minus_baseline = Math.max(rss - baseline.rss_kib_median, 1) / 1024;
    if (s.cpu_s_median != null && baseline.cpu_s_median != null) {
      s.cpu_s_minus_baseline = Math.max(s.cpu_s_median - baseline.cpu_s_median, 0.01);
      s.user_s_minus_baseline = Math.max(s.user_s_median - baseline.user_s_median, 0.01);
      s.sys_s_minus_baseline = Math.max(s.sys_s_median - baseline.sys_s_median, 0);
    }
  }
  return s;
}

const sets = [...new Set(rows.filter((r) => r.set !== '-' && r.set !== 'flat').map((r) => r.set))];
const results = [];
for (const set of sets) {
  const meta = JSON.parse(fs.readFileSync(path.join(dataRoot, `${set}-${MB}`, 'meta.json'), 'utf8'));
  const threadsList = [...new Set(rows.filter((r) => r.set === set).map((r) => r.threads))].sort((a, b) => a - b);
  const perThreads = [];
  for (const t of threadsList) {
    const n = summarize(set, 'ndpq', t, meta.bytes);
    const d = summarize(set, 'duckdb', t, meta.bytes);
    const none = summarize(set, 'ndpq-none', t, meta.bytes);
    const mem = summarize(set, 'ndpq-tmpfs', t, meta.bytes);
    const entry = { threads: t, ndpq: n, duckdb: d, ratios: null, codec: null, device: null };
    const duckS = d ? (d.seconds_minus_baseline ?? d.seconds_median) : null;
    // ndpq's run against the same job with one cost taken away (v): v's
    // median time and speed, the cost's seconds and its share of ndpq's time.
    const without = (v) => {
      const cost = Math.max(n.seconds_median - v.seconds_median, 0);
      return { seconds: v.seconds_median, mb_per_s: v.mb_per_s, cost_seconds: cost, share: n.seconds_median > 0 ? cost / n.seconds_median : null };
    };
    if (n && none) {
      // The same job without compression: the difference is the codec's time.
      const k = without(none);
      entry.codec = {
        none_seconds: k.seconds,
        none_mb_per_s: k.mb_per_s,
        codec_seconds: k.cost_seconds,
        codec_share: k.share,
        // If everything but the codec took no time at all, ndpq would reach this.
        ceiling_vs_duckdb: duckS && k.cost_seconds > 0 ? duckS / k.cost_seconds : null,
      };
    }
    if (n && mem) {
      // The same job with its file on tmpfs: the difference is writing the
      // file to the device and syncing it, which DuckDB's job does not wait for.
      const k = without(mem);
      entry.device = { ...k, vs_duckdb: duckS && k.seconds > 0 ? duckS / k.seconds : null };
    }
    if (n && d) {
      const dFairMbps = d.mb_per_s_minus_baseline ?? d.mb_per_s;
      const dFairRss = d.rss_mib_minus_baseline ?? d.rss_mib;
      entry.ratios = {
        throughput: ratio(n.mb_per_s, dFairMbps),          // ndpq / DuckDB (minus node start-up)
        throughput_raw: ratio(n.mb_per_s, d.mb_per_s),     // ndpq / DuckDB in node, as measured
        rss: ratio(n.rss_mib, dFairRss),                   // ndpq / DuckDB (minus node + DuckDB floor)
        rss_raw: ratio(n.rss_mib, d.rss_mib),
        size: ratio(n.out_bytes, d.out_bytes),             // ndpq file / DuckDB file
        // CPU seconds, DuckDB's over ndpq's (DuckDB minus the floor's): not
        // targets, but they tell the code's speed from the machine's. DuckDB's
        // system time is mostly zeroing the memory it faults in, whose cost
        // on this VM changes from run to run; user time is the code's.
        cpu: ratio(d.cpu_s_minus_baseline ?? d.cpu_s_median, n.cpu_s_median),
        user_cpu: ratio(d.user_s_minus_baseline ?? d.user_s_median, n.user_s_median),
      };
    }
    perThreads.push(entry);
  }
  const scaling = {};
  const one = perThreads.find((e) => e.threads === 1);
  for (const e of perThreads) {
    if (!one || e.threads === 1) continue;
    scaling[`${e.threads}_vs_1`] = {
      ndpq: one.ndpq && e.ndpq ? e.ndpq.mb_per_s / one.ndpq.mb_per_s : null,
      duckdb: one.duckdb && e.duckdb ? (e.duckdb.mb_per_s_minus_baseline ?? e.duckdb.mb_per_s) / (one.duckdb.mb_per_s_minus_baseline ?? one.duckdb.mb_per_s) : null,
      pair: e.threads === 2 ? pairCeiling(set) : null,
    };
  }
  results.push({ set, files: meta.files.length, bytes_in: meta.bytes, lines: meta.lines, threads: perThreads, scaling });
}

// Memory flat in input size (run.sh, "flat"): the events set at BENCH_MB and
// at ten times that, into part files, per thread count.
const flatRows = rows.filter((r) => r.set === 'flat');
const flat = flatRows.length ? {
  small_mb: Number(env.BENCH_FLAT_SMALL_MB || MB), large_mb: Number(env.BENCH_FLAT_LARGE_MB || Number(MB) * 10),
  // "No more memory" with room for run-to-run noise in peak RSS.
  tolerance: 0.05,
  threads: [...new Set(flatRows.map((r) => r.threads))].sort((a, b) => a - b).map((t) => {
    const of = (tool) => flatRows.filter((r) => r.tool === tool && r.threads === t);
    const s = of('small'), l = of('large');
    const rs = median(s.map((r) => r.rss_kib)), rl = median(l.map((r) => r.rss_kib));
    return {
      threads: t, runs: Math.min(s.length, l.length),
      small: { seconds_median: median(s.map((r) => r.seconds)), rss_kib_median: rs, rss_kib_all: s.map((r) => r.rss_kib) },
      large: { seconds_median: median(l.map((r) => r.seconds)), rss_kib_median: rl, rss_kib_all: l.map((r) => r.rss_kib) },
      rss_ratio: ratio(rl, rs),
    };
  }),
} : null;

// ------------------------------------------------------------------ table
const fmt = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const pad = (s, w, left = false) => (left ? String(s).padEnd(w) : String(s).padStart(w));
const head = ['set', 'thr', 'ndpq MB/s', 'duck MB/s', 'speed x', 'ndpq RSS', 'duck RSS', 'duck-base', 'RSS ratio', 'ndpq out', 'duck out', 'size x'];
const widths = [8, 3, 9, 9, 7, 8, 8, 9, 9, 8, 8, 6];
const line = (cells) => cells.map((c, i) => pad(c, widths[i], i === 0)).join('  ');
// The stages that ran: convert (measurements.tsv), ingest and latency (their
// JSON files next to results.json, removed by run.sh at the start of each run).
const outDir = path.dirname(outPath);
const readJson = (name) => { try { return JSON.parse(fs.readFileSync(path.join(outDir, name), 'utf8')); } catch { return null; } };
const ingest = readJson('ingest.json');
const latency = readJson('latency.json');
const latencyService = readJson('latency-service.json');

const out = [];
let diskReads = null;
out.push('');
out.push(`machine: ${os.cpus().length} cores, load ${env.BENCH_LOAD_START ?? '?'} at start, ${os.loadavg()[0].toFixed(2)} at end ` +
  '(shared machine: load from other work adds noise; compare ratios within one run, not absolute numbers across runs)');
if (results.length) {
  out.push('');
  out.push(`ndpq vs DuckDB: NDJSON -> snappy Parquet, ${MB} MB a set, median of ${env.BENCH_REPEAT || '?'} runs`);
  if (baseline) out.push(`harness floor (node + DuckDB loaded, SELECT 1): ${fmt(baseline.seconds_median, 2)} s, ${fmt(baseline.rss_kib_median / 1024)} MiB`);
  out.push('');
  out.push(line(head));
  out.push(line(['', '', '', '(-base)', '', 'MiB', 'MiB', 'MiB', 'vs -base', 'MB', 'MB', '']));
  for (const r of results) {
    for (const e of r.threads) {
      const n = e.ndpq, d = e.duckdb, x = e.ratios;
      out.push(line([
        r.set, e.threads,
        fmt(n?.mb_per_s), fmt(d?.mb_per_s_minus_baseline ?? d?.mb_per_s), fmt(x?.throughput, 2),
        fmt(n?.rss_mib), fmt(d?.rss_mib), fmt(d?.rss_mib_minus_baseline), fmt(x?.rss, 2),
        fmt(n ? n.out_bytes / 1e6 : null), fmt(d ? d.out_bytes / 1e6 : null), fmt(x?.size, 2),
      ]));
    }
  }
  out.push('');
  out.push('speed x = ndpq MB/s / DuckDB MB/s; RSS ratio = ndpq peak RSS / DuckDB peak RSS; size x = ndpq file / DuckDB file.');
  out.push('DuckDB columns marked -base have the node + DuckDB floor taken off (kind to DuckDB); raw DuckDB figures:');
  for (const r of results) {
    for (const e of r.threads) {
      if (!e.duckdb) continue;
      out.push(`  ${r.set} t${e.threads}: DuckDB ${fmt(e.duckdb.mb_per_s)} MB/s, ${fmt(e.duckdb.rss_mib)} MiB raw` +
        (e.ratios ? `; ndpq/DuckDB raw: speed ${fmt(e.ratios.throughput_raw, 2)}x, RSS ${fmt(e.ratios.rss_raw, 2)}` : ''));
    }
  }
  if (results.some((r) => r.threads.some((e) => e.codec))) {
    out.push('snappy\'s share of ndpq\'s time (ndpq run again with --compression none; the difference is the codec):');
    for (const r of results) {
      for (const e of r.threads) {
        const k = e.codec;
        if (!k) continue;
        out.push(`  ${r.set} t${e.threads}: ${fmt(k.codec_seconds, 2)} s of ${fmt(e.ndpq.seconds_median, 2)} s (${fmt(100 * k.codec_share, 0)}%);` +
          ` without compression ${fmt(k.none_mb_per_s)} MB/s` +
          (k.ceiling_vs_duckdb ? `; with snappy, ndpq cannot pass ${fmt(k.ceiling_vs_duckdb, 1)}x DuckDB even if all else took no time` : ''));
      }
    }
  }
  if (results.some((r) => r.threads.some((e) => e.device))) {
    out.push('the device\'s share of ndpq\'s time (ndpq run again with its file on tmpfs, where nothing reaches a device and fsync ' +
      'returns at once; the difference is writing the file and syncing it, which DuckDB does not wait for), not a target:');
    for (const r of results) {
      for (const e of r.threads) {
        const k = e.device;
        if (!k) continue;
        out.push(`  ${r.set} t${e.threads}: ${fmt(k.cost_seconds, 2)} s of ${fmt(e.ndpq.seconds_median, 2)} s (${fmt(100 * k.share, 0)}%);` +
          ` on tmpfs ${fmt(k.mb_per_s)} MB/s` + (k.vs_duckdb ? `, ${fmt(k.vs_duckdb, 2)}x DuckDB` : ''));
      }
    }
  }
  if (results.some((r) => r.threads.some((e) => e.ratios?.cpu))) {
    out.push('CPU seconds (medians; DuckDB minus the floor\'s), not a target: the speed ratio is wall time. DuckDB\'s system time, ' +
      'mostly zeroing the memory it faults in, costs more or less on this VM from one run to the next; user time is the code\'s own:');
    for (const r of results) {
      for (const e of r.threads) {
        const n = e.ndpq, d = e.duckdb;
        if (!e.ratios?.cpu) continue;
        out.push(`  ${r.set} t${e.threads}: ndpq ${fmt(n.cpu_s_median, 2)} s (user ${fmt(n.user_s_median, 2)}), ` +
          `DuckDB ${fmt(d.cpu_s_minus_baseline ?? d.cpu_s_median, 2)} s (user ${fmt(d.user_s_minus_baseline ?? d.user_s_median, 2)}); ` +
          `DuckDB/ndpq CPU ${fmt(e.ratios.cpu, 2)}x, user ${fmt(e.ratios.user_cpu, 2)}x`);
      }
    }
  }
  for (const r of results) {
    for (const [k, v] of Object.entries(r.scaling)) {
      out.push(`scaling ${r.set} ${k.replaceAll('_', ' ')} threads: ndpq ${fmt(v.ndpq, 2)}x, DuckDB ${fmt(v.duckdb, 2)}x` +
        (v.pair ? `; two 1-thread ndpq jobs at once ${fmt(v.pair.ceiling, 2)}x (each: ${v.pair.each.map((x) => fmt(x, 2)).join(', ')})` : ''));
    }
  }
  // Every timed run is meant to read its input from the page cache (run.sh,
  // warm): a run that read from disk anyway is named, as its time is not
  // conversion alone. The flat stage is left out: it measures memory, and
  // none of its times is compared.
  const timed = rows.filter((r) => r.set !== 'flat' && r.disk_kib !== null);
  const fromDisk = timed.filter((r) => r.disk_kib >= 1024);
  if (timed.length) {
    out.push(fromDisk.length
      ? `input read from disk (should be none; MiB): ${fromDisk.map((r) => `${r.set} ${r.tool} t${r.threads} rep ${r.rep} ${fmt(r.disk_kib / 1024, 1)}`).join(', ')}`
      : `input read from disk: none of the ${timed.length} timed runs read 1 MiB or more`);
  }
  diskReads = { runs: timed.length, from_disk: fromDisk.map(({ set, tool, threads, rep, disk_kib }) => ({ set, tool, threads, rep, disk_kib })) };
  if (machine) {
    out.push(`machine ceiling: two CPU-bound processes at once (sha256sum, ${machine.runs} runs) run at ${fmt(machine.ceiling, 2)}x ` +
      `the rate of one alone (fastest alone ${fmt(machine.alone_s, 2)} s; together ${machine.pairs.map((p) => p.map((x) => fmt(x, 2)).join('/')).join(', ')} s): ` +
      'no 2-thread scaling can pass that here');
  }
}

// ------------------------------------------------------------------ ingest
const kev = (x) => (x === null || x === undefined ? '-' : `${(x / 1000).toFixed(1)}k`);
if (ingest) {
  out.push('');
  out.push(`ndpq ingest: ${ingest.events.toLocaleString('en-US')} S3 ObjectCreated events in ${ingest.sqs_events.toLocaleString('en-US')} SQS events ` +
    `(${ingest.messages_per_sqs_event} messages each, ${fmt(ingest.events_file_bytes / 1e6)} MB), fresh state.db (WAL) per run, ` +
    `end to end, median of the runs (load ${fmt(ingest.load?.start, 2)} -> ${fmt(ingest.load?.end, 2)}); no DuckDB equivalent`);
  const ih = ['MAX', 'batches', 'runs', 'events/s', 'seconds', 'read s', 'settle s', '1st batch', 'read ev/s', 'RSS MiB', 'each run: events/s'];
  const iw = [5, 7, 4, 9, 7, 7, 8, 9, 10, 7, 0];
  const iline = (cells) => cells.map((c, i) => pad(c, iw[i], i === iw.length - 1)).join('  ');
  out.push(iline(ih));
  for (const r of ingest.results) {
    const p = r.phases_median;
    out.push(iline([r.max_files_per_manifest, r.batches, r.runs, kev(r.events_per_s_median), fmt(r.seconds_median, 3),
      fmt(p?.read_s, 3), fmt(p?.settle_s, 3), fmt(p?.first_batch_s, 3), kev(r.read_events_per_s), fmt(r.rss_kib_median / 1024),
      r.events_per_s_all.map((x) => kev(x)).join(' ')]));
  }
  out.push('read = process start to the events file read to its end: parse + stat + tracking inserts and commits, with the');
  out.push('full batches formed as their files are tracked (their manifests written meanwhile); settle = the rest (last commit,');
  out.push('last claims, manifests still to write); 1st batch = seconds to the first batch line. Counts checked with sqlite3.');
}

// ------------------------------------------------------------------ latency
if (latency) {
  out.push('');
  out.push(`ndpq run: 10th file of a batch of ${latency.files_per_batch} x ~10 MB (${fmt(latency.bytes_per_batch / 1e6)} MB, ` +
    `${latency.lines_per_batch} lines) landing -> its Parquet visible, ${latency.rounds} rounds ` +
    `(load ${fmt(latency.load?.start, 2)} -> ${fmt(latency.load?.end, 2)}); no DuckDB equivalent`);
  out.push(`  median ${fmt(latency.seconds_median, 3)} s  (each: ${latency.seconds_all.map((x) => fmt(x, 3)).join(', ')})  ` +
    `target < ${latency.target_seconds} s`);
  out.push(`  to committed in state.db: median ${fmt(latency.committed_seconds_median, 3)} s  (each: ${latency.committed_seconds_all.map((x) => fmt(x, 3)).join(', ')})`);
  const sm = latency.steps_median;
  const ms = (x) => (x === null || x === undefined ? '-' : (x * 1000).toFixed(1));
  out.push(`  steps, median ms after the rename: tracked ${ms(sm.tracked_s)}, batch closed ${ms(sm.batch_closed_s)}, ` +
    `job started ${ms(sm.job_started_s)}, Parquet renamed ${ms(sm.parquet_renamed_s)} (ctime), visible ${ms(sm.parquet_visible_s)} ` +
    `(${latency.poll_ms} ms poll), job reaped ${ms(sm.job_exited_s)}, committed ${ms(sm.committed_s)}; convert's own time ${ms(latency.job_seconds_median)}`);
  if (latencyService) out.push(`  service stopped by ${latencyService.stop_signal} in ${fmt(latencyService.stop_seconds, 2)} s, exit ${latencyService.exit_code}, ${latencyService.left_behind} process(es) left`);
}

if (flat) {
  out.push('');
  out.push(`ndpq convert, memory against input size: events at ${flat.small_mb} MB and ${flat.large_mb} MB, into part files ` +
    `(-o DIR), median of ${flat.threads[0]?.runs ?? '?'} runs; no DuckDB side`);
  for (const f of flat.threads) {
    out.push(`  t${f.threads}: ${flat.small_mb} MB ${fmt(f.small.rss_kib_median / 1024)} MiB in ${fmt(f.small.seconds_median, 2)} s, ` +
      `${flat.large_mb} MB ${fmt(f.large.rss_kib_median / 1024)} MiB in ${fmt(f.large.seconds_median, 2)} s: ` +
      `peak RSS ${fmt(f.rss_ratio, 2)}x`);
  }
}

// Bars from the issues (information; BENCH_STRICT=1 enforces issue #2's).
const checks = [];
for (const r of results) {
  for (const e of r.threads) {
    const x = e.ratios;
    if (!x) continue;
    checks.push({ issue: 2, what: `${r.set} t${e.threads}: ndpq at least as fast as DuckDB`, ok: x.throughput >= 1 });
    checks.push({ issue: 2, what: `${r.set} t${e.threads}: ndpq peak RSS below DuckDB's`, ok: x.rss < 1 });
    checks.push({ issue: 6, what: `${r.set} t${e.threads}: throughput >= 4x DuckDB`, ok: x.throughput >= 4 });
    checks.push({ issue: 6, what: `${r.set} t${e.threads}: peak RSS <= 1/4 DuckDB`, ok: x.rss <= 0.25 });
    checks.push({ issue: 6, what: `${r.set} t${e.threads}: size within 10% of DuckDB`, ok: Math.abs(x.size - 1) <= 0.10 });
  }
  const s = r.scaling['2_vs_1'];
  if (s && s.ndpq !== null) {
    checks.push({ issue: 6, what: `${r.set}: ndpq 2 threads >= 1.8x 1 thread` +
      (machine ? ` (${fmt(s.ndpq, 2)}x; the machine's ceiling ${fmt(machine.ceiling, 2)}x` +
        (s.pair ? `, two 1-thread jobs at once ${fmt(s.pair.ceiling, 2)}x)` : ')') : ''), ok: s.ndpq >= 1.8 });
  }
}
for (const r of ingest?.results ?? []) {
  checks.push({ issue: '3/#6', what: `ingest MAX=${r.max_files_per_manifest}: ${kev(r.events_per_s_median)} events/s >= ${kev(ingest.target_events_per_s)} (end to end)`,
    ok: r.events_per_s_median >= ingest.target_events_per_s });
}
for (const f of flat?.threads ?? []) {
  checks.push({ issue: 6, what: `flat memory t${f.threads}: peak RSS for ${flat.large_mb} MB <= ${flat.small_mb} MB's ` +
    `(+${fmt(100 * flat.tolerance, 0)}% for noise; ${fmt(f.rss_ratio, 2)}x)`, ok: f.rss_ratio !== null && f.rss_ratio <= 1 + flat.tolerance });
}
if (latency) {
  checks.push({ issue: '4/#6', what: `latency: median ${fmt(latency.seconds_median, 3)} s < ${latency.target_seconds} s (10th file -> Parquet visible)`,
    ok: latency.seconds_median < latency.target_seconds });
}
if (checks.length) {
  out.push('');
  out.push(results.length ? 'bars (ratios vs DuckDB minus the harness floor):' : 'bars:');
  for (const c of checks) out.push(`  ${c.ok ? 'PASS' : 'MISS'}  #${c.issue}  ${c.what}`);
}
out.push('');
console.log(out.join('\n'));

// ------------------------------------------------------------------ json
function tryCmd(cmd, args) { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } }
let duckdbVersion = null;
try {
  const nm = env.BENCH_NODE_MODULES || path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), 'tests', 'readers', 'node_modules');
  duckdbVersion = JSON.parse(fs.readFileSync(path.join(nm, '@duckdb', 'node-api', 'package.json'), 'utf8')).version;
} catch { /* not fatal */ }
const json = {
  generated_at: new Date().toISOString(),
  units: { mb: '10^6 bytes of NDJSON input', mib: '2^20 bytes', rss: 'peak RSS from GNU time %M', seconds: 'wall, GNU time %e', cpu_s: 'user + system CPU, GNU time %U + %S', user_s: 'GNU time %U', sys_s: 'GNU time %S' },
  machine: { cores: os.cpus().length, load_at_start: env.BENCH_LOAD_START ? Number(env.BENCH_LOAD_START) : null, load_at_end: os.loadavg()[0], mem_gib: r2(os.totalmem() / 2 ** 30, 1), cpu: os.cpus()[0]?.model ?? null, kernel: os.release() },
  params: {
    mb: Number(MB), sets: (env.BENCH_SETS || '').split(/\s+/).filter(Boolean), repeat: Number(env.BENCH_REPEAT || 0),
    threads: (env.BENCH_THREADS || '').split(/\s+/).filter(Boolean).map(Number), duckdb_columns: env.BENCH_DUCKDB_COLUMNS || 'given',
  },
  versions: { ndpq: env.NDPQ_VERSION || null, duckdb_node_api: duckdbVersion, node: process.version, git: tryCmd('git', ['rev-parse', '--short', 'HEAD']) },
  method: 'ndpq: build/ndpq convert --threads N --compression snappy FILES -o OUT.parquet. ' +
    "DuckDB: SET threads=N; COPY (SELECT * FROM read_ndjson(FILES, format='newline_delimited', columns={every key: 'VARCHAR'})) " +
    'TO OUT (FORMAT parquet, COMPRESSION snappy), run in node through @duckdb/node-api; the column list comes from ' +
    "DESCRIBE read_ndjson(FILES, union_by_name=true, sample_size=-1, maximum_depth=1), " +
    ((env.BENCH_DUCKDB_COLUMNS || 'given') === 'given' ? 'run untimed before the measurements. ' : 'run inside each timed DuckDB process. ') +
    "Ratios use DuckDB minus the harness floor " +
    '(node + DuckDB loaded, SELECT 1) for time and RSS; raw ratios are given too. Each ndpq output is verified with DuckDB.',
  stages: (env.BENCH_ONLY_STAGES || '').split(/\s+/).filter(Boolean),
  baseline,
  machine,
  disk_reads: diskReads,
  results,
  ingest,
  latency: latency ? { ...latency, service: latencyService } : null,
  flat,
  checks,
};
fs.mkdirSync(path.dirname(outPath), { recursive: true });
fs.writeFileSync(outPath, JSON.stringify(json, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(3)) : v), 2) + '\n');
console.log(`results: ${outPath}`);

if (env.BENCH_STRICT === '1' && checks.some((c) => c.issue === 2 && !c.ok)) {
  console.error('bench: BENCH_STRICT=1 and issue #2\'s bar is missed');
  process.exit(3);
}
