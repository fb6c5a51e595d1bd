/**
 * The sandbox and the client against Feishu's official request schemas
 * (src/sandbox/reference/feishu-schemas.json, from @larksuiteoapi/lark-mcp;
 * regenerate with `node scripts/feishu-schemas.mjs`).
 */
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { ENDPOINTS } from '../../src/feishu/endpoints.js'
import { SANDBOX_LIMITS } from '../../src/sandbox/limits.js'
import { checkRequest, OFFICIAL_SOURCE, OFFICIAL_TOOLS } from '../../src/sandbox/official.js'
import { matchRoute, ROUTES } from '../../src/sandbox/routes.js'
import { sandbox } from '../support/helpers.js'

const describeField = (tool: string, ...path: string[]): string => {
  let node: any = OFFICIAL_TOOLS[tool]?.schema
  for (const key of path)
    node = key === '*' ? node?.items : (node?.[key] ?? node?.properties?.[key])
  return String(node?.description ?? '')
}

describe('Feishu’s official request schemas', () => {
  it('come from the official package', () => {
    expect(OFFICIAL_SOURCE).toMatch(/^@larksuiteoapi\/lark-mcp@\d+\.\d+\.\d+/)
    expect(Object.keys(OFFICIAL_TOOLS).length).toBeGreaterThanOrEqual(19)
  })

  it('give the batch limits the sandbox enforces', () => {
    const number = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1])
    expect(
      number(
        describeField('im.v1.chat.create', 'data', 'user_id_list'),
        /最多同时邀请 (\d+) 个用户/,
      ),
    ).toBe(SANDBOX_LIMITS.createChatUsers)
    expect(
      number(
        describeField('im.v1.chatMembers.create', 'data', 'id_list'),
        /每次请求最多拉 (\d+) 个用户/,
      ),
    ).toBe(SANDBOX_LIMITS.addMemberIds)
    for (const tool of ['urgentApp', 'urgentSms', 'urgentPhone'])
      expect(
        number(describeField(`im.v1.message.${tool}`, 'data', 'user_id_list'), /不能大于 (\d+)/),
      ).toBe(SANDBOX_LIMITS.urgentIds)
    for (const field of ['emails', 'mobiles'])
      expect(
        number(describeField('contact.v3.user.batchGetId', 'data', field), /最多可传入 (\d+) 条/),
      ).toBe(SANDBOX_LIMITS.batchGetIdEach)
  })

  it('match every path and method of the client’s endpoint table', () => {
    for (const [name, endpoint] of Object.entries(ENDPOINTS)) {
      const path = endpoint.path.replace(/:([a-z_]+)/g, 'x')
      const found = matchRoute(endpoint.method, path)
      expect(found?.route.name, `${name}: ${endpoint.method} ${endpoint.path}`).toBe(name)
      expect(found?.route.path).toBe(endpoint.path)
    }
    expect(ROUTES.every((r) => r.path.startsWith('/open-apis/'))).toBe(true)
  })

  it('refuse unknown and ill-typed fields, missing required ones and values outside an enum', () => {
    const check = (tool: string, query: string, body: unknown, params = {}) =>
      checkRequest(tool, { query: new URLSearchParams(query), params, body }).map((v) => v.field)
    expect(
      check('im.v1.message.create', 'receive_id_type=chat_id', { receive_id: 'oc_1' }),
    ).toEqual(['msg_type', 'content'])
    expect(
      check('im.v1.message.create', 'receive_id_type=group', {
        receive_id: 'oc_1',
        msg_type: 'text',
        content: '{}',
        color: 'red',
      }),
    ).toEqual(['receive_id_type', 'color'])
    expect(check('im.v1.chat.list', 'page_size=ten&sort=asc', undefined)).toEqual([
      'page_size',
      'sort',
    ])
    expect(check('im.v1.chat.create', 'user_id_type=open_id', { user_id_list: 'ou_1' })).toEqual([
      'user_id_list',
    ])
    expect(
      check(
        'im.v1.chatMembers.create',
        'member_id_type=open_id&succeed_type=1',
        {
          id_list: ['ou_1'],
        },
        { chat_id: 'oc_1' },
      ),
    ).toEqual([])
  })

  it('are enforced over HTTP with Feishu’s answer (99992402 naming each field)', async () => {
    const s = await sandbox({ malformed: true })
    const token = (await (
      await request(`${s.url}/open-apis/auth/v3/tenant_access_token/internal`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ app_id: s.appId, app_secret: s.appSecret }),
      })
    ).body.json()) as { tenant_access_token: string }
    const res = await request(`${s.url}/open-apis/im/v1/chats?user_id_type=open_id&owner=me`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token.tenant_access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'x', members: ['ou_1'] }),
    })
    const answer = (await res.body.json()) as any
    expect(res.statusCode).toBe(400)
    expect(answer.code).toBe(99992402)
    expect(answer.error.field_violations.map((v: any) => v.field)).toEqual(['owner', 'members'])
    expect(s.state.chats.size).toBe(0)
  })
})
