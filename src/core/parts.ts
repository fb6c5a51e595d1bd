import type { SharedQuota } from '../feishu/ratelimit.js'
import type { IncidentStore } from '../store/store.js'
import { Attention } from './attention.js'
import { Bridges } from './bridge.js'
import { Broadcast } from './broadcast.js'
import { CARD_SYNC, Cards } from './cards.js'
import { Discovery } from './discovery.js'
import { Escalations } from './escalation.js'
import { Flow } from './flow.js'
import { FollowUps } from './followups.js'
import { HeldFollowUps } from './held.js'
import { Members } from './members.js'
import { FOLLOW_UPS, Messages } from './messages.js'
import type { Core, WarRoomDeps } from './model.js'
import { Moments } from './moments.js'
import { Paging } from './paging.js'
import { Policy } from './policy.js'
import { Postmortems } from './postmortem.js'
import type { Records } from './records.js'
import { Roles } from './roles.js'
import { Silencing } from './silencing.js'
import { STORM_SYNC, Storms } from './storms.js'
import { Triage } from './triage.js'
import { StatusUpdates } from './updates.js'
import { Urgency } from './urgency.js'

/** The war room's parts, each one concern (see ARCHITECTURE.md), wired once here. */
export interface Parts {
  members: Members
  messages: Messages
  attention: Attention
  urgency: Urgency
  cards: Cards
  discovery: Discovery
  roles: Roles
  broadcast: Broadcast
  updates: StatusUpdates
  escalations: Escalations
  silencing: Silencing
  triage: Triage
  paging: Paging
  bridges: Bridges
  moments: Moments
  followUps: FollowUps
  postmortems: Postmortems
  flow: Flow
  storms: Storms
}

export function assemble(
  core: Core,
  deps: WarRoomDeps,
  store: IncidentStore,
  records: Records,
): Parts {
  const save = (record: Parameters<Records['save']>[0]) => records.save(record)
  const members = new Members(core)
  const messages = new Messages(core)
  const attention = new Attention(core, messages)
  // PostgreSQL counts the urgent budget across replicas with the Feishu quota's own function.
  const shared = (store as { quota?: SharedQuota }).quota
  const urgency = new Urgency(core, messages, attention, shared)
  const cards = new Cards(core, deps.fetchImage, save, !store.shared, store.jobs)
  const discovery = new Discovery(core, store, deps.store !== undefined && !deps.storeIsCache)
  const roles = new Roles(core, messages, store.jobs)
  const broadcast = new Broadcast(core, messages)
  const updates = new StatusUpdates(core, messages, store.jobs, broadcast)
  const bridges = new Bridges(core, messages, urgency, save)
  const escalations = new Escalations(
    core,
    store.jobs,
    members,
    messages,
    cards,
    urgency,
    save,
    updates,
    roles,
    new Policy(core, messages, store.jobs, urgency),
  )
  const triage = new Triage(core, messages, escalations, urgency, broadcast)
  const held = new HeldFollowUps(core, messages, store.jobs)
  escalations.kinds.set(FOLLOW_UPS, (record) => held.run(record))
  const flow = new Flow({
    core,
    records,
    members,
    messages,
    cards,
    discovery,
    escalations,
    urgency,
    broadcast,
    roles,
    bridges,
    changes: store.changes,
    history: store,
    held,
  })
  const storms = new Storms(core, records, discovery, flow, cards, messages, store.jobs)
  escalations.kinds.set(STORM_SYNC, (record, op) => storms.synced(record, op))
  escalations.kinds.set(CARD_SYNC, (record, op) => cards.resync(record, op))
  return {
    members,
    messages,
    attention,
    urgency,
    cards,
    discovery,
    roles,
    broadcast,
    updates,
    escalations,
    silencing: new Silencing(core, messages),
    triage,
    paging: new Paging(core, members, messages, urgency),
    bridges,
    moments: new Moments(core, messages),
    followUps: new FollowUps(core, messages),
    postmortems: new Postmortems(core, messages, save),
    flow,
    storms,
  }
}
