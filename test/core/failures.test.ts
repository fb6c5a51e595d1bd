/**
 * Every failure classified once (src/core/failures.ts), and the same class
 * answered the same way by each front end.
 */
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { ConfigError } from '../../src/config/config.js'
import { OpenRefused } from '../../src/core/admission.js'
import { classify } from '../../src/core/failures.js'
import { FeishuError } from '../../src/feishu/errors.js'
import { IncidentError, PayloadError } from '../../src/model/incident.js'
import { StoreLockedError, StoreUnavailableError } from '../../src/store/store.js'
import { registerSecret } from '../../src/util/log.js'
import { test } from '../support/fixtures.js'
import { incident, tempDir } from '../support/helpers.js'
import { post } from '../support/receiver.js'

const feishu = (code: number, httpStatus?: number) =>
  new FeishuError({ code, msg: 'm', endpoint: 'POST /open-apis/im/v1/chats', httpStatus })

describe('classify', () => {
  const cases: Array<[name: string, error: unknown, cls: string]> = [
    ['a rate limit', feishu(99991400), 'feishu_transient'],
    ['a 5xx', feishu(-1, 502), 'feishu_transient'],
    ['no answer at all', feishu(-1), 'feishu_transient'],
    ['a missing scope', feishu(99991672), 'feishu_refused'],
    ['a bad member id', feishu(232043), 'feishu_refused'],
    ['too many new chats', new OpenRefused(12), 'busy'],
    ['the database down', new StoreUnavailableError('down'), 'store_unavailable'],
    ['a bad payload', new PayloadError('alerts: required'), 'bad_input'],
    ['a bad incident', new IncidentError([{ path: 'key', message: 'required' }]), 'bad_input'],
    ['a bad config', new ConfigError('x'), 'bad_input'],
    ['the data directory locked', new StoreLockedError('held'), 'bad_input'],
    ['a bug', new TypeError('undefined is not a function'), 'internal'],
  ]
  it.each(cases)('%s → %s', (_name, error, cls) => {
    expect(classify(error).class).toBe(cls)
  })

  it('reads Feishu codes once into a kind the core acts on', () => {
    expect(
      [99991400, 99991672, 99991663, 232043, 232011, 230001].map((c) => feishu(c).kind),
    ).toEqual(['rate_limited', 'missing_scope', 'token', 'bad_member', 'not_our_chat', 'refused'])
    expect(feishu(-1, 503).kind).toBe('transient')
  })

  it('keeps secrets out of the message, and the busy wait with it', () => {
    registerSecret('s3cr3t-value-here')
    expect(
      classify(new StoreUnavailableError('postgres://u:s3cr3t-value-here@h')).message,
    ).not.toContain('s3cr3t')
    expect(classify(new OpenRefused(7))).toMatchObject({ class: 'busy', retryAfterSeconds: 7 })
  })
})

describe('one class, one answer per front end', () => {
  test('bad input: the receiver answers 400 and the CLI exits 2; a Feishu refusal: 200 "failed" and exit 1', async ({
    sandbox: s,
    receiver: { url },
  }) => {
    expect((await post(`${url}/incidents`, { title: 'no key' })).status).toBe(400)
    const said: string[] = []
    const quiet = { out: (t: string) => said.push(t), err: (t: string) => said.push(t) }
    expect(await main(['notify', '--title', 'no key'], {}, quiet)).toBe(2)
    // Feishu refuses for good (the app lacks a scope): the sender must not retry, the CLI fails.
    s.faults.add({ kind: 'code', code: 99991672, endpoint: 'createChat', times: 2 })
    const refused = await post(`${url}/incidents`, incident({ key: 'refused:1' }))
    expect(refused.status).toBe(200)
    expect(refused.json).toMatchObject({ action: 'failed', code: 99991672 })
    const env = {
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
      XDG_STATE_HOME: await tempDir(),
    }
    expect(
      await main(['notify', '--stateless', '--key', 'refused:2', '--title', 'T'], env, quiet),
    ).toBe(1)
    expect(said.at(-1)).toContain('99991672')
  })
})
