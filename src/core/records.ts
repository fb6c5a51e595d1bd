import type { FeishuClient } from '../feishu/client.js'
import { countCalls, withPriority } from '../feishu/transport.js'
import type { IncidentRecord, IncidentStore } from '../store/store.js'
import { childLogger, type Logger } from '../util/log.js'
import { KeyedMutex } from '../util/mutex.js'
import {
  MAX_EVENTS,
  newOp,
  type Op,
  resultOf,
  type WarRoomAction,
  type WarRoomResult,
  WrittenRecords,
} from './model.js'

/**
 * Work on one incident's record: serialised per key (in this process, then
 * across the processes sharing the store), its Feishu calls counted, its
 * warnings logged, the record saved only when it changed.
 */
export class Records {
  private readonly mutex = new KeyedMutex()
  private readonly written = new WrittenRecords()
  /** Version of each record this process wrote, for the receiver's repeat fast path. */
  private readonly versions = new Map<string, number>()

  constructor(
    private readonly client: FeishuClient,
    private readonly store: IncidentStore,
    private readonly logger: Logger,
    private readonly onRecord: ((record: IncidentRecord) => void) | undefined,
  ) {}

  /** Runs `work` holding another record's lock too (a storm room's, inside its incident's). */
  locked<T>(keyHash: string, work: () => Promise<T>): Promise<T> {
    return this.mutex.run(keyHash, () => this.store.withLock(keyHash, work))
  }

  /** Waits for in-flight work (graceful shutdown). */
  idle = (): Promise<void> => this.mutex.idle()

  async run(
    key: string,
    keyHash: string,
    priority: number,
    work: (op: Op) => Promise<WarRoomResult>,
  ): Promise<WarRoomResult> {
    const { result, calls } = await countCalls(() =>
      withPriority(priority, () =>
        // In-process first (cheap), then across the processes sharing the store.
        this.mutex.run(keyHash, () => this.store.withLock(keyHash, () => work(newOp()))),
      ),
    )
    result.feishuCalls = calls
    if (!result.key) result.key = key
    const log = childLogger(this.logger, { key: result.key, chatId: result.chatId })
    for (const w of result.warnings) log.warn(w)
    if (result.failedMembers.length)
      log.warn('could not invite some members', {
        members: result.failedMembers.map((m) => `${m.id} (${m.reason})`),
      })
    log.debug('incident work done', { action: result.action, feishuCalls: calls })
    return result
  }

  result(action: WarRoomAction, record: IncidentRecord, op: Op): WarRoomResult {
    return resultOf(action, record, op, this.client.chatLink(record.chatId))
  }

  none(key: string, reason: string, record?: IncidentRecord, op?: Op): WarRoomResult {
    const base = record
      ? this.result('none', record, op ?? newOp())
      : {
          action: 'none' as const,
          key,
          failedMembers: [],
          feishuCalls: 0,
          warnings: op?.warnings ?? [],
        }
    return { ...base, reason }
  }

  /** The record's version now (a repeat at the version it left needs no work): a shared store is asked. */
  recordVersion(keyHash: string): Promise<number | undefined> | number | undefined {
    return this.store.shared ? this.store.version(keyHash) : this.versions.get(keyHash)
  }

  async save(record: IncidentRecord): Promise<void> {
    // A flapping alert must not grow its record without end: keep the start and the recent past.
    if (record.events.length > MAX_EVENTS)
      record.events = [...record.events.slice(0, 50), ...record.events.slice(-(MAX_EVENTS - 50))]
    if (this.written.unchanged(record)) return
    record.version++
    await this.store.put(record)
    this.written.wrote(record)
    this.versions.set(record.keyHash, record.version)
    this.onRecord?.(record)
  }
}
