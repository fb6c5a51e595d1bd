import { describe, expect, it } from 'vitest'
import { liveScopes, priorityScope } from '../../src/feishu/scope.js'
import { countCalls, withPriority } from '../../src/feishu/transport.js'
import { clientFor, countRequests, sandbox } from '../support/helpers.js'

/** A promise and the function that settles it, to interleave two scopes by hand. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

describe('call scopes (the hook is off between them before Node 24)', () => {
  it('keeps each scope its own count and priority while another ends before it', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'scopes' })
    const bStarted = gate()
    const aEnded = gate()
    const a = countCalls(() =>
      withPriority(1, async () => {
        await client.getChat(chat.chat_id)
        await bStarted.wait
        return priorityScope.getStore()
      }),
    )
    const b = countCalls(() =>
      withPriority(-1, async () => {
        bStarted.open()
        await aEnded.wait
        // A has ended: B is still under way, so its calls are still counted and its priority kept.
        await client.getChat(chat.chat_id)
        await client.updateChat(chat.chat_id, { description: 'b' })
        await client.getChat(chat.chat_id)
        return priorityScope.getStore()
      }),
    )
    const first = await a
    aEnded.open()
    const second = await b
    expect(first).toEqual({ result: 1, calls: 1 })
    expect(second).toEqual({ result: -1, calls: 3 })
    expect(liveScopes()).toBe(0)
    expect(priorityScope.getStore()).toBeUndefined()

    // After the hook went off, a new scope counts again from the start.
    const third = await countCalls(async () => {
      await client.getChat(chat.chat_id)
      await new Promise((r) => setTimeout(r, 5))
      await client.getChat(chat.chat_id)
      return 'done'
    })
    expect(third).toEqual({ result: 'done', calls: 2 })
    expect(countRequests(s, 'getChat')).toBe(5)
    expect(s.state.chats.get(chat.chat_id)?.description).toBe('b')
  })

  it('ends a scope whose work throws, so the next one is not counted into it', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'throws' })
    await expect(
      countCalls(async () => {
        await client.getChat(chat.chat_id)
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(liveScopes()).toBe(0)
    const next = await countCalls(() => client.getChat(chat.chat_id))
    expect(next.calls).toBe(1)
  })
})
