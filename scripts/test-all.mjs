// Runs the main suite, then the serial one (multi-process storms, alone on the two cores), and
// ends with one line that counts every test of both: the last line is the whole run's answer.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'warroom-tests-'))
const runs = [
  { name: 'main', args: [] },
  { name: 'serial', args: ['-c', 'vitest.serial.config.ts'] },
]
const totals = { passed: 0, failed: 0, skipped: 0 }
let ok = true
for (const run of runs) {
  const out = join(dir, `${run.name}.json`)
  const result = spawnSync(
    process.execPath,
    [
      'node_modules/vitest/vitest.mjs',
      'run',
      ...run.args,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
    ],
    { stdio: 'inherit' },
  )
  let report
  try {
    report = JSON.parse(readFileSync(out, 'utf8'))
  } catch {
    report = undefined
  }
  if (result.status !== 0 || !report) ok = false
  if (report) {
    totals.passed += report.numPassedTests
    totals.failed += report.numFailedTests
    totals.skipped += report.numPendingTests + report.numTodoTests
  }
  // The serial storms add nothing to a run whose main suite already failed.
  if (!ok) break
}
rmSync(dir, { recursive: true, force: true })
console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
process.exit(ok && totals.failed === 0 ? 0 : 1)
