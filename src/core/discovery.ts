import { createHmac, timingSafeEqual } from 'node:crypto'
import { FeishuError } from '../feishu/errors.js'
import type { ChatSummary } from '../feishu/types.js'
import { hashKey, type IncidentRecord, type IncidentStore } from '../store/store.js'
import type { Core, IncidentRef } from './model.js'

/**
 * [warroom:<key hash, base64url>:<o|r>:<opened, s, base 36>:<mac, base64url>]: 82 characters with
 * the line before it, open or resolved; Feishu documents descriptions of at most 100 characters
 * (建议不超过 100 字符) and Lark's CLI refuses longer ones.
 */
const MARKER = /\[warroom:([A-Za-z0-9_-]{22}):([or]):([0-9a-z]{1,10}):([A-Za-z0-9_-]{16})\]/
/** The marker of 0.2 (112 characters: too long for Feishu) and, without the mac, of 0.1: still read. */
const LEGACY_MARKER = /\[warroom:([0-9a-f]{32}):(open|resolved):(\d+)(?::([0-9a-f]{24}))?\]/
export const DESCRIPTION_MAX = 100

/**
 * Finding an incident's record: in the store, or through the marker each war
 * room carries in its chat description (the Action keeps no state; a lost
 * store is rebuilt from the chats the bot is in).
 */
export class Discovery {
  /** A given store is the truth (after one sync from Feishu when it starts empty). */
  private synced: Promise<void> | undefined

  private readonly markerKey: Buffer

  constructor(
    private readonly core: Core,
    private readonly store: IncidentStore,
    private readonly storeIsAuthoritative: boolean,
  ) {
    this.markerKey = core.client.transport.deriveKey('marker:v1')
  }

  /**
   * The marker written into a war room's description. Its mac is keyed with a
   * secret derived from the app secret: a tenant user who writes a marker
   * into their own group's description cannot make it pass.
   */
  description(keyHash: string, state: 'open' | 'resolved', openedAt: number): string {
    const seconds = Math.floor(openedAt / 1000)
    const hash = Buffer.from(keyHash, 'hex').toString('base64url')
    const mac = this.mac(keyHash, state, seconds).toString('base64url')
    return `feishu-warroom incident\n[warroom:${hash}:${state[0]}:${seconds.toString(36)}:${mac}]`
  }

  /** 96 bits of HMAC-SHA256: 16 base64url characters in a marker, 24 hex in a legacy one. */
  private mac(keyHash: string, state: string, seconds: number): Buffer {
    return createHmac('sha256', this.markerKey)
      .update(`${keyHash}:${state}:${seconds}`)
      .digest()
      .subarray(0, 12)
  }

  /** The marker's fields, read from either form; `mac` undefined for a 0.1 marker. */
  private parseMarker(description: string) {
    const m = MARKER.exec(description)
    if (m) {
      return {
        keyHash: Buffer.from(m[1]!, 'base64url').toString('hex'),
        status: m[2] === 'o' ? ('open' as const) : ('resolved' as const),
        seconds: Number.parseInt(m[3]!, 36),
        mac: Buffer.from(m[4]!, 'base64url'),
      }
    }
    const legacy = LEGACY_MARKER.exec(description)
    if (!legacy) return undefined
    return {
      keyHash: legacy[1]!,
      status: legacy[2] as 'open' | 'resolved',
      seconds: Number(legacy[3]),
      mac: legacy[4] === undefined ? undefined : Buffer.from(legacy[4], 'hex'),
    }
  }

  /**
   * Whether this app owns the chat: Feishu leaves owner_id out when the bot
   * is the owner (or names the app id); a group a person made names them.
   */
  private ownedByApp(chat: { owner_id?: string | undefined; owner_id_type?: string | undefined }) {
    if (!chat.owner_id) return true
    return chat.owner_id_type === 'app_id' && chat.owner_id === this.core.client.appId
  }

  async keyHashFor(ref: IncidentRef): Promise<string | undefined> {
    if ('keyHash' in ref) return ref.keyHash
    if ('key' in ref) return hashKey(ref.key)
    const known = await this.store.findByChat(ref.chatId)
    if (known) return known.keyHash
    try {
      const chat = await this.core.client.getChat(ref.chatId)
      const record = this.fromMarker({
        chat_id: ref.chatId,
        name: chat.name ?? '',
        description: chat.description ?? '',
        ...(chat.owner_id ? { owner_id: chat.owner_id } : {}),
        ...(chat.owner_id_type ? { owner_id_type: chat.owner_id_type } : {}),
      })
      if (!record) return undefined
      if (!(await this.store.get(record.keyHash))) await this.store.put(record)
      return record.keyHash
    } catch (error) {
      // Not a chat of this bot: not a war room. Anything else (network, credentials) is the answer.
      if (error instanceof FeishuError && error.kind === 'not_our_chat') return undefined
      throw error
    }
  }

  async lookup(keyHash: string): Promise<IncidentRecord | undefined> {
    // Once, shared by the lookups that arrive meanwhile (a storm must not list the chats per incident).
    if (this.storeIsAuthoritative) {
      this.synced ??= (async () => {
        if (await this.store.isEmpty()) await this.syncFromFeishu()
      })().catch((error) => {
        this.synced = undefined
        throw error
      })
      await this.synced
    }
    const stored = await this.store.get(keyHash)
    if (stored || this.storeIsAuthoritative) return stored
    return this.discover(keyHash)
  }

  /** Finds the newest chat whose marker names this key (no store: the GitHub Action). */
  private async discover(keyHash: string): Promise<IncidentRecord | undefined> {
    let found: IncidentRecord | undefined
    for await (const chat of this.core.client.listChats()) {
      const record = this.fromMarker(chat)
      if (record?.keyHash === keyHash) found = record
    }
    if (found) await this.store.put(found)
    return found
  }

  /**
   * The open war room of this key other than `except`: a create whose answer
   * was lost and whose retry Feishu refused (what a repeated uuid answers is
   * UNCONFIRMED) is recovered by its marker, never by a second chat.
   */
  async findOpenChat(keyHash: string, except?: string): Promise<string | undefined> {
    let found: string | undefined
    for await (const chat of this.core.client.listChats()) {
      const record = this.fromMarker(chat)
      if (record?.keyHash === keyHash && record.status === 'open' && chat.chat_id !== except)
        found = chat.chat_id
    }
    return found
  }

  /** Rebuilds a lost or new store from the marker chats the bot is in. */
  async syncFromFeishu(): Promise<number> {
    const newest = new Map<string, IncidentRecord>()
    for await (const chat of this.core.client.listChats()) {
      const record = this.fromMarker(chat)
      if (record) newest.set(record.keyHash, record)
    }
    for (const record of newest.values()) await this.store.put(record)
    if (newest.size)
      this.core.logger.info('rebuilt incident records from Feishu chats', { count: newest.size })
    return newest.size
  }

  /**
   * The record a chat's marker describes, when the chat is a war room of this
   * app: a bot owns it and the marker's mac checks out. A marker without a
   * mac (0.1) is never enough: "no owner" means *some* bot owns the chat, not
   * this app (Feishu leaves owner_id out for any bot), so such chats count
   * only when the store already knows them.
   */
  private fromMarker(
    chat: Pick<ChatSummary, 'chat_id' | 'name' | 'description' | 'owner_id' | 'owner_id_type'>,
  ): IncidentRecord | undefined {
    const m = this.parseMarker(chat.description ?? '')
    if (!m || !this.ownedByApp(chat)) return undefined
    if (m.mac === undefined) {
      this.core.logger.warn('ignored a chat whose war-room marker has no mac (0.1)', {
        chatId: chat.chat_id,
      })
      return undefined
    }
    const expected = this.mac(m.keyHash, m.status, m.seconds)
    if (m.mac.length !== expected.length || !timingSafeEqual(m.mac, expected)) {
      this.core.logger.warn('ignored a chat whose war-room marker is forged', {
        chatId: chat.chat_id,
      })
      return undefined
    }
    const status = m.status
    let name = chat.name ?? ''
    if (status === 'resolved' && name.startsWith(this.core.config.resolvedPrefix))
      name = name.slice(this.core.config.resolvedPrefix.length)
    const openedAt = m.seconds * 1000
    return {
      keyHash: m.keyHash,
      key: '',
      chatId: chat.chat_id,
      chatName: name,
      status,
      openedAt,
      // When it was resolved is not in the marker: unknown, not "at once".
      members: [],
      invited: [],
      failedMembers: [],
      imageKeys: [],
      imageUrls: [],
      seenEvents: [],
      events: [],
      version: 0,
    }
  }
}
