#!/usr/bin/env node
/**
 * Regenerates src/sandbox/reference/feishu-schemas.json: the official request
 * schemas of the Feishu Open API calls this product makes, taken from the zod
 * tool definitions in @larksuiteoapi/lark-mcp and converted to JSON Schema
 * with zod 4's z.toJSONSchema. The package is installed into a temporary
 * folder with --ignore-scripts (its native keytar build is not needed to read
 * the schemas). Usage: node scripts/feishu-schemas.mjs [version]
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const VERSION = process.argv[2] ?? '0.5.1'
/** The official tool names of the calls the client makes. */
const TOOLS = [
  'auth.v3.auth.tenantAccessTokenInternal',
  'im.v1.chat.create',
  'im.v1.chat.get',
  'im.v1.chat.update',
  'im.v1.chat.delete',
  'im.v1.chat.list',
  'im.v1.chat.search',
  'im.v1.chatMembers.create',
  'im.v1.chatMembers.get',
  'im.v1.chatManagers.addManagers',
  'im.v1.chatManagers.deleteManagers',
  'im.v1.chatTopNotice.putTopNotice',
  'im.v1.chatTab.create',
  'im.v1.message.create',
  'im.v1.message.reply',
  'im.v1.message.patch',
  'im.v1.message.get',
  'im.v1.message.list',
  'im.v1.pin.create',
  'im.v1.pin.list',
  'im.v1.message.urgentApp',
  'im.v1.message.urgentSms',
  'im.v1.message.urgentPhone',
  'im.v1.messageReaction.create',
  'docx.v1.document.create',
  'docx.v1.document.convert',
  'docx.v1.documentBlockDescendant.create',
  'drive.v1.permissionMember.create',
  'task.v2.task.create',
  'contact.v3.user.get',
  'contact.v3.user.batchGetId',
  'vc.v1.reserve.apply',
  'vc.v1.reserve.delete',
  'vc.v1.reserve.getActiveMeeting',
  'vc.v1.meeting.get',
  'im.v2.feedCard.patch',
]
const FILES = ['auth_v3', 'im_v1', 'im_v2', 'contact_v3', 'vc_v1', 'docx_v1', 'drive_v1', 'task_v2']

const dir = mkdtempSync(join(tmpdir(), 'lark-mcp-'))
try {
  execFileSync(
    'npm',
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefix',
      dir,
      `@larksuiteoapi/lark-mcp@${VERSION}`,
    ],
    { stdio: 'inherit' },
  )
  const require = createRequire(join(dir, 'package.json'))
  const pkg = JSON.parse(
    readFileSync(join(dir, 'node_modules/@larksuiteoapi/lark-mcp/package.json'), 'utf8'),
  )
  const { z } = require('zod')
  const tools = new Map()
  for (const file of FILES) {
    const mod = require(`@larksuiteoapi/lark-mcp/dist/mcp-tool/tools/zh/gen-tools/zod/${file}.js`)
    for (const value of Object.values(mod)) if (value?.name) tools.set(value.name, value)
  }
  const out = {
    source: `@larksuiteoapi/lark-mcp@${pkg.version} dist/mcp-tool/tools/zh/gen-tools/zod`,
    generator: 'scripts/feishu-schemas.mjs',
    tools: {},
  }
  for (const name of TOOLS) {
    const tool = tools.get(name)
    if (!tool) throw new Error(`lark-mcp ${pkg.version} has no tool ${name}`)
    const schema = {}
    for (const [part, zod] of Object.entries(tool.schema ?? {})) schema[part] = z.toJSONSchema(zod)
    out.tools[name] = {
      method: tool.httpMethod,
      path: tool.path,
      description: tool.description,
      schema,
    }
  }
  // lark-mcp 0.5.1 leaves out the temporary block_id and the children of each descendant, which the
  // API needs to nest blocks (children_id names them); @larksuiteoapi/node-sdk's types have both.
  const descendant =
    out.tools['docx.v1.documentBlockDescendant.create']?.schema.data?.properties?.descendants?.items
  if (descendant?.properties) {
    descendant.properties.block_id = { type: 'string', description: 'temporary id (node-sdk)' }
    descendant.properties.children = { type: 'array', items: { type: 'string' } }
    out.corrections = [
      'docx.v1.documentBlockDescendant.create: descendants[].block_id and children added, as in @larksuiteoapi/node-sdk',
    ]
  }
  const target = new URL('../src/sandbox/reference/feishu-schemas.json', import.meta.url)
  writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`)
  console.log(`wrote ${TOOLS.length} schemas from lark-mcp ${pkg.version} to ${target.pathname}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
