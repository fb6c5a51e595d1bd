import type { IncidentRecord } from '../../src/store/store.js'

/** A bare open record as a store holds it, for store-level tests. */
export const bareRecord = (
  keyHash: string,
  version: number,
  extra: Partial<IncidentRecord> = {},
): IncidentRecord => ({
  keyHash,
  key: `key-${keyHash}`,
  chatId: `oc_${keyHash}`,
  chatName: 'chat',
  status: 'open',
  openedAt: 1,
  members: [],
  invited: [],
  failedMembers: [],
  imageKeys: [],
  imageUrls: [],
  seenEvents: [],
  events: [],
  version,
  ...extra,
})
