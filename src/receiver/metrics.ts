import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CallEvent } from '../feishu/transport.js'
import { fileStoreWrites } from '../store/store.js'

/** The receiver's Prometheus metrics, on a registry of its own. */
export class Metrics {
  readonly registry = new Registry()
  readonly webhooks = new Counter({
    name: 'warroom_webhooks_total',
    help: 'Webhook requests by source and outcome (opened, updated, resolved, none, bad_request, unauthorized, feishu_error, …).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly handling = new Histogram({
    name: 'warroom_webhook_duration_seconds',
    help: 'Time to handle a webhook, Feishu calls included.',
    labelNames: ['source'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })
  readonly feishuCalls = new Counter({
    name: 'warroom_feishu_calls_total',
    help: 'Feishu Open API requests by endpoint and result (ok, retry, error) and Feishu code.',
    labelNames: ['endpoint', 'result', 'code'] as const,
    registers: [this.registry],
  })
  readonly openIncidents = new Gauge({
    name: 'warroom_open_incidents',
    help: 'Incidents whose war room is open.',
    registers: [this.registry],
  })
  readonly connection = new Gauge({
    name: 'warroom_feishu_long_connection_up',
    help: '1 while the long connection to Feishu is up (event_mode websocket), else 0.',
    registers: [this.registry],
  })
  readonly reconnects = new Counter({
    name: 'warroom_feishu_long_connection_reconnects_total',
    help: 'Times the long connection to Feishu was lost and re-established.',
    registers: [this.registry],
  })
  readonly refused = new Counter({
    name: 'warroom_notifications_refused_total',
    help: 'Notifications Feishu refused for good (answered 200, so the sender will not retry), by source and Feishu code: alert on any increase.',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  })
  readonly storeBytes = new Counter({
    name: 'warroom_file_store_bytes_written_total',
    help: 'Bytes the file store wrote (records, jobs, its lock); 0 on PostgreSQL.',
    registers: [this.registry],
    collect() {
      this.reset()
      this.inc(fileStoreWrites.bytes)
    },
  })
  readonly events = new Counter({
    name: 'warroom_feishu_events_total',
    help: 'Feishu events and card callbacks by type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  })

  onFeishuCall = (event: CallEvent): void => {
    this.feishuCalls.inc({
      endpoint: event.endpoint,
      result: event.outcome,
      code: String(event.code),
    })
  }
}
