// Shared helpers for the benchmarks (plain ESM; they run the compiled lib/).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { request } from 'undici'

export async function freePort() {
  const server = createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return port
}

/** Starts `warroom serve` as its own process and waits until it answers. */
export async function startServe(args, env) {
  const child = spawn(process.execPath, ['lib/src/cli/index.js', 'serve', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  // The receiver's log (stderr), kept for a benchmark's diagnostics.
  let log = ''
  child.stderr.on('data', (d) => {
    if (log.length < 20_000_000) log += d
  })
  const port = Number(args[args.indexOf('--port') + 1])
  const url = `http://127.0.0.1:${port}`
  const until = Date.now() + 15_000
  for (;;) {
    try {
      const r = await request(`${url}/healthz`)
      await r.body.dump()
      if (r.statusCode === 200) break
    } catch {}
    if (Date.now() > until) {
      // Ends the process it started before giving up, so no receiver is left running.
      child.kill('SIGKILL')
      throw new Error(`receiver did not start: ${out}${log.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, url, output: () => out, log: () => log }
}

/** Peak resident memory of a live process, from /proc (Linux). */
export function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export function percentile(sorted, p) {
  if (!sorted.length) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

export function median(list) {
  const s = [...list].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n))
