import { ConfigError } from '../config/config.js'
import { FeishuError } from '../feishu/errors.js'
import { IncidentError, PayloadError } from '../model/incident.js'
import { StoreLockedError, StoreUnavailableError } from '../store/store.js'
import { redact } from '../util/log.js'
import { OpenRefused } from './admission.js'

/**
 * What went wrong, classified once for every front end: the receiver answers
 * an HTTP status, the CLI an exit code, the Action a failed or passing step,
 * each from the class (see their `outcome` tables), never from error types.
 */
export type FailureClass =
  /** The input is wrong (a payload, a config, the store's lock held): fix it, do not retry. */
  | 'bad_input'
  /** Too many new war rooms this minute: retry after `retryAfterSeconds`. */
  | 'busy'
  /** The database is unreachable, or the incident busy in another replica: retry. */
  | 'store_unavailable'
  /** Feishu failed in a way a retry can fix (network, 5xx, rate limit). */
  | 'feishu_transient'
  /** Feishu refused for good (a scope, a token, a member): a person must act. */
  | 'feishu_refused'
  /** A bug: nothing above. */
  | 'internal'

export interface Failure {
  class: FailureClass
  /** Safe to show and log: secrets redacted. */
  message: string
  retryAfterSeconds?: number
  feishu?: FeishuError
}

export function classify(error: unknown): Failure {
  if (error instanceof FeishuError)
    return {
      class: error.isTransient ? 'feishu_transient' : 'feishu_refused',
      message: redact(error.message),
      feishu: error,
    }
  if (error instanceof OpenRefused)
    return { class: 'busy', message: error.message, retryAfterSeconds: error.retryAfterSeconds }
  if (error instanceof StoreUnavailableError)
    return { class: 'store_unavailable', message: redact(error.message), retryAfterSeconds: 5 }
  if (
    error instanceof ConfigError ||
    error instanceof IncidentError ||
    error instanceof PayloadError ||
    error instanceof StoreLockedError
  )
    return { class: 'bad_input', message: error.message }
  return {
    class: 'internal',
    message: redact((error instanceof Error && error.stack) || String(error)),
  }
}
