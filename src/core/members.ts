import { LIMITS } from '../feishu/client.js'
import { FeishuError } from '../feishu/errors.js'
import type { Person } from '../model/incident.js'
import type { IncidentRecord } from '../store/store.js'
import { type Core, errorMessage, type Op, reasonOf } from './model.js'

/**
 * Who is in the war room: member ids of every kind parsed (open_id, union_id,
 * user_id, email, mobile), emails and mobiles looked up once and cached, and
 * people added in batches with per-id reporting of those who could not be.
 */
export class Members {
  private readonly idCache = new Map<string, { openId: string | undefined; at: number }>()

  constructor(private readonly core: Core) {}

  /**
   * Whether the person acting on the incident (a command, a button) is in the
   * war room: one the card names, or found in the chat's member list. A click
   * on a forwarded copy of the card, by someone outside, is refused.
   */
  async isMember(record: IncidentRecord, by: Person): Promise<boolean> {
    if (!by.openId) return by.name !== undefined && by.name.length > 0 // not from a chat: trusted caller
    if (record.members.includes(by.openId)) return true
    for await (const member of this.core.client.listMembers(record.chatId))
      if (member.member_id === by.openId) {
        record.members = [...record.members, by.openId]
        return true
      }
    return false
  }

  /**
   * Creates the chat with its first members (create takes at most 50; the
   * rest are `pending`, for add). One unusable id fails a whole create: then
   * the chat is created empty and everyone is pending, to be reported per id.
   * `uuids` (with members, bare) make a retry return the same chat.
   */
  async createChat(
    chat: { name: string; description: string },
    openIds: string[],
    uuids: [string, string],
    recover: () => Promise<string | undefined>,
  ): Promise<{ chatId: string; pending: string[] }> {
    try {
      return await this.tryCreate(chat, openIds, uuids)
    } catch (error) {
      // A create whose answer was lost, retried and refused (what a repeated uuid answers is
      // UNCONFIRMED): the chat may exist all the same, found by its marker; never a second one.
      const found = await recover().catch(() => undefined)
      if (!found) throw error
      this.core.logger.warn('creating the chat failed, but it exists: found by its marker', {
        chatId: found,
        error: errorMessage(error),
      })
      return { chatId: found, pending: openIds }
    }
  }

  private async tryCreate(
    chat: { name: string; description: string },
    openIds: string[],
    uuids: [string, string],
  ): Promise<{ chatId: string; pending: string[] }> {
    const first = openIds.slice(0, LIMITS.usersPerCreate)
    // Only the owner (the bot) and managers may edit name and description: the marker lives there.
    const body = { ...chat, edit_permission: 'only_owner' as const }
    try {
      const created = await this.core.client.createChat(
        { ...body, user_id_list: first },
        { uuid: uuids[0] },
      )
      return { chatId: created.chat_id, pending: openIds.slice(first.length) }
    } catch (error) {
      // One unusable member id fails the whole create: create it empty, then add one by one.
      if (!(error instanceof FeishuError && error.kind === 'bad_member' && openIds.length))
        throw error
      const bare = await this.core.client.createChat(body, { uuid: uuids[1] })
      return { chatId: bare.chat_id, pending: openIds }
    }
  }

  /** The open_ids these ids stand for (lookups cached; failures are left out). */
  async openIdsOf(ids: string[]): Promise<string[]> {
    const resolved = await this.resolve(ids, { warnings: [], failedMembers: [] })
    return resolved.openIds
  }

  /** Invites the ids not invited before (an update naming more people); returns how many. */
  async inviteNew(record: IncidentRecord, ids: string[], op: Op): Promise<number> {
    const added = ids.filter((m) => !record.invited.includes(m))
    if (!added.length) return 0
    const members = await this.resolve(added, op)
    record.invited.push(...added)
    record.failedMembers.push(...members.failed)
    await this.add(record, members.openIds, 'open_id', op)
    await this.addOther(record, members.other, op)
    return added.length
  }

  async resolve(ids: string[], op: Op) {
    const openIds: string[] = []
    const other: Array<{ id: string; type: 'union_id' | 'user_id' }> = []
    const emails: string[] = []
    const mobiles: string[] = []
    for (const raw of ids) {
      const id = raw.trim()
      if (/^ou_[A-Za-z0-9]+$/.test(id)) openIds.push(id)
      else if (/^on_[A-Za-z0-9]+$/.test(id)) other.push({ id, type: 'union_id' })
      else if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(id)) emails.push(id.toLowerCase())
      else if (/^\+?[0-9][0-9 -]{5,20}$/.test(id)) mobiles.push(id.replace(/[ -]/g, ''))
      else if (/^[A-Za-z0-9_-]{1,64}$/.test(id)) other.push({ id, type: 'user_id' })
      else op.failedMembers.push({ id, reason: 'not a Feishu id, email or mobile' })
    }
    const failed: Array<{ id: string; reason: string }> = []
    const fresh = (k: string) => {
      const hit = this.idCache.get(k)
      return hit && this.core.now() - hit.at < 6 * 3600_000 ? hit : undefined
    }
    const toLookUp = {
      emails: emails.filter((e) => !fresh(e)),
      mobiles: mobiles.filter((m) => !fresh(m)),
    }
    if (toLookUp.emails.length || toLookUp.mobiles.length) {
      try {
        const found = await this.core.client.batchGetId(toLookUp)
        for (const [k, v] of found) this.idCache.set(k, { openId: v, at: this.core.now() })
      } catch (error) {
        for (const id of [...toLookUp.emails, ...toLookUp.mobiles])
          failed.push({ id, reason: reasonOf(error) })
      }
    }
    for (const k of [...emails, ...mobiles]) {
      const hit = fresh(k)
      if (hit?.openId) openIds.push(hit.openId)
      else if (hit)
        failed.push({
          id: k,
          reason: 'no Feishu user with this email or mobile (or outside the app’s contact scope)',
        })
    }
    op.failedMembers.push(...failed)
    return { openIds: [...new Set(openIds)], other, failed: [...op.failedMembers] }
  }

  async add(
    record: IncidentRecord,
    ids: string[],
    type: 'open_id' | 'union_id' | 'user_id',
    op: Op,
  ): Promise<void> {
    if (!ids.length) return
    try {
      const res = await this.core.client.addMembers(record.chatId, ids, { memberIdType: type })
      // Waiting for approval is not in the chat: neither counted as a member nor mentioned.
      const bad = new Set([
        ...res.invalid_id_list,
        ...res.not_existed_id_list,
        ...res.pending_approval_id_list,
      ])
      for (const id of res.invalid_id_list)
        op.failedMembers.push({ id, reason: 'resigned, not activated or not visible to the app' })
      for (const id of res.not_existed_id_list)
        op.failedMembers.push({ id, reason: 'does not exist' })
      for (const id of res.pending_approval_id_list)
        op.warnings.push(`${id} is waiting for the chat owner's approval`)
      op.invited = (op.invited ?? 0) + ids.filter((i) => !bad.has(i)).length
      if (type === 'open_id')
        record.members = [...new Set([...record.members, ...ids.filter((i) => !bad.has(i))])]
      for (const f of op.failedMembers)
        if (!record.failedMembers.some((x) => x.id === f.id)) record.failedMembers.push(f)
    } catch (error) {
      for (const id of ids) {
        const failure = { id, reason: reasonOf(error) }
        op.failedMembers.push(failure)
        record.failedMembers.push(failure)
      }
    }
  }

  /** After the chat is created: those it could not take at once, the other id types, then the count. */
  async addRest(
    record: IncidentRecord,
    pending: string[],
    other: Array<{ id: string; type: 'union_id' | 'user_id' }>,
    op: Op,
  ): Promise<void> {
    await this.add(record, pending, 'open_id', op)
    await this.addOther(record, other, op)
    this.checkSomeoneIn(record, op)
  }

  /** A chat only the bot is in helps nobody: every front end says so loudly. */
  private checkSomeoneIn(record: IncidentRecord, op: Op): void {
    if (record.members.length || op.invited) return
    op.empty = true
    op.warnings.push(
      `nobody is in the war room ${record.chatId}: no member could be invited` +
        (op.failedMembers.length ? '' : ' (the incident and the config name no one)'),
    )
  }

  async addOther(
    record: IncidentRecord,
    other: Array<{ id: string; type: 'union_id' | 'user_id' }>,
    op: Op,
  ) {
    for (const type of ['union_id', 'user_id'] as const) {
      await this.add(
        record,
        other.filter((o) => o.type === type).map((o) => o.id),
        type,
        op,
      )
    }
  }
}
