#!/usr/bin/env node
// The `warroom` command: serve, notify, check, timeline.
import { main } from './main.js'

const code = await main(process.argv.slice(2), process.env)
process.exitCode = code
// A failed command has released what it started; a handle something left open must not keep
// the process (and the terminal) waiting.
if (code !== 0) setTimeout(() => process.exit(code), 2000).unref()
