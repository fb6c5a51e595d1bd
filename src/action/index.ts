// Entry point of the GitHub Action (bundled to dist/index.js by ncc).
import * as core from '@actions/core'
import { readContext } from './context.js'
import { listJobs } from './github-api.js'
import { run } from './main.js'

await run(core, readContext(process.env), process.env, { listJobs })
