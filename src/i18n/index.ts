/**
 * Every text the product writes for people, in both languages, in one place:
 * chat and card texts (chat.ts; times and durations in format.ts), what the adapters name things (sources.ts),
 * the timeline (timeline.ts), toasts and notices (people.ts).
 */
export * from './chat.js'
export * from './format.js'
export * from './people.js'
export * from './sources.js'
export * from './storm.js'
export * from './timeline.js'
