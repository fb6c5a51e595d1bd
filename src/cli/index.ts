#!/usr/bin/env node
// The `warroom` command: serve, notify, check, timeline.
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2), process.env)
