// One way to run a process and collect what it printed, for every test lib.
import { spawn } from 'node:child_process'

/**
 * Spawn cmd with args; stdin gets `input` (or nothing). Resolves to
 * {code, signal, stdout, stderr, json, ms, args, pid}, where json is stdout
 * parsed as JSON or null (also under the older names `report` and `summary`).
 * `label` replaces args in messages. The child is killed after timeoutMs.
 */
export function spawnCollect(cmd, args, { env, cwd, timeoutMs = 120_000, label, input } = {}) {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const out = []
    const err = []
    child.stdout.on('data', d => out.push(d))
    child.stderr.on('data', d => err.push(d))
    child.stdin.on('error', () => {}) // the child may exit before reading everything
    child.stdin.end(input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', e => { clearTimeout(timer); reject(e) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      let json = null
      try { json = JSON.parse(stdout) } catch { /* not JSON */ }
      resolve({ code, signal, stdout, stderr, json, report: json, summary: json, ms: Date.now() - started,
        args: label ?? args, pid: child.pid })
    })
  })
}
