/** A JSON object from outside (an event, a history message): read field by field with optional chaining, never trusted. */
// biome-ignore lint/suspicious/noExplicitAny: such payloads are read defensively, field by field
export type JsonObject = Record<string, any>
