/** What an operation on an incident did, as every front end reports it. */
export type WarRoomAction = 'opened' | 'updated' | 'resolved' | 'acknowledged' | 'none'

export interface WarRoomResult {
  action: WarRoomAction
  key: string
  chatId?: string
  chatUrl?: string
  cardMessageId?: string
  /** Set when the incident joined its route's storm room (the new-chat budget was spent). */
  storm?: string
  /** True when a firing reopened a recently resolved chat instead of opening a new one. */
  reopened?: boolean
  /** Members that could not be added, with Feishu's reason. */
  failedMembers: Array<{ id: string; reason: string }>
  /** Open API requests this operation made (token fetches excluded). */
  feishuCalls: number
  /** Things that went wrong without stopping the incident (a pin, an image, a buzz). */
  warnings: string[]
  /** Why nothing happened, when action is none. */
  reason?: string
  /** True when the chat was opened but no person could be put in it (only the bot is there). */
  empty?: boolean
  /** The incident record's version this operation left (its repeat needs no work while it stands). */
  version?: number
}

/** Which incident a person's command or button is about. */
export type IncidentRef = { keyHash: string } | { key: string } | { chatId: string }
