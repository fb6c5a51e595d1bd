import type { Pool } from 'pg'

/**
 * Versioned schema changes, applied in order at start. Never edit one that
 * has shipped: add the next. Each runs in its own transaction.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'incidents, shared de-duplication, jobs, timelines, replicas',
    sql: `
      CREATE TABLE incidents (
        key_hash text PRIMARY KEY,
        chat_id text NOT NULL,
        status text NOT NULL,
        version integer NOT NULL,
        resolved_at timestamptz,
        record jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX incidents_chat_id ON incidents (chat_id);
      CREATE INDEX incidents_open ON incidents (status, resolved_at);
      CREATE TABLE seen_ids (
        id text PRIMARY KEY,
        seen_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX seen_ids_seen_at ON seen_ids (seen_at);
      CREATE TABLE jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        key_hash text NOT NULL,
        due_at timestamptz NOT NULL,
        data jsonb NOT NULL DEFAULT '{}',
        attempts integer NOT NULL DEFAULT 0,
        claimed_by text,
        lease_until timestamptz,
        done_at timestamptz,
        last_error text
      );
      CREATE INDEX jobs_due ON jobs (kind, due_at) WHERE done_at IS NULL;
      CREATE INDEX jobs_incident ON jobs (key_hash, kind) WHERE done_at IS NULL;
      CREATE TABLE timelines (
        key_hash text PRIMARY KEY,
        markdown text NOT NULL,
        json text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE replicas (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        seen_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    name: 'the Feishu quota shared by replicas',
    // A sliding log per limit key (an API, a chat, a card). take_quota() takes a slot when every
    // window has room and answers its id, or answers minus the ms until one frees; the advisory
    // lock makes check-and-take atomic per key across replicas. The slot is stamped again when
    // the call really leaves (see SharedQuota.stamp).
    sql: `
      CREATE TABLE quota_log (id bigserial PRIMARY KEY, key text NOT NULL, at timestamptz NOT NULL);
      CREATE INDEX quota_log_key_at ON quota_log (key, at DESC);
      CREATE FUNCTION take_quota(p_key text, p_limits integer[], p_spans_ms integer[])
      RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE
        i integer;
        n integer;
        oldest timestamptz;
        wait_ms integer := 0;
        span interval;
        slot bigint;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':quota:' || p_key));
        FOR i IN 1 .. array_length(p_limits, 1) LOOP
          span := make_interval(secs => p_spans_ms[i] / 1000.0);
          SELECT count(*), min(at) INTO n, oldest FROM (
            SELECT at FROM quota_log WHERE key = p_key AND at > clock_timestamp() - span
            ORDER BY at DESC LIMIT p_limits[i]) newest;
          IF n >= p_limits[i] THEN
            wait_ms := greatest(wait_ms,
              ceil(extract(epoch FROM oldest + span - clock_timestamp()) * 1000)::integer);
          END IF;
        END LOOP;
        IF wait_ms > 0 THEN RETURN -wait_ms; END IF;
        INSERT INTO quota_log (key, at) VALUES (p_key, clock_timestamp()) RETURNING id INTO slot;
        RETURN slot;
      END $$;
    `,
  },
  {
    version: 3,
    name: 'changes reported by change events',
    sql: `
      CREATE TABLE changes (id bigserial PRIMARY KEY, at timestamptz NOT NULL, change jsonb NOT NULL);
      CREATE INDEX changes_at ON changes (at);
    `,
  },
  {
    version: 4,
    name: 'incident families: the last resolved one of a route and alert name',
    sql: `
      CREATE INDEX incidents_family ON incidents ((record #>> '{incident,family}'), resolved_at DESC)
        WHERE status = 'resolved';
    `,
  },
  {
    version: 5,
    name: 'every write of an incident notifies its version (the repeat path of each replica)',
    sql: `
      CREATE FUNCTION notify_incident_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('warroom_versions', TG_TABLE_SCHEMA || ' ' || NEW.key_hash || ' ' || NEW.version);
        RETURN NULL;
      END $$;
      CREATE TRIGGER incidents_version AFTER INSERT OR UPDATE OF version ON incidents
        FOR EACH ROW EXECUTE FUNCTION notify_incident_version();
    `,
  },
]

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/**
 * Creates the schema when missing and applies what is not applied yet.
 * Replicas starting together take a session advisory lock first, so one
 * applies and the others find the work done.
 */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [
      `feishu-warroom:migrate:${schema}`,
    ])
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
      await client.query(
        `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      )
      const done = new Set(
        (await client.query(`SELECT version FROM "${schema}".schema_migrations`)).rows.map(
          (r) => r.version as number,
        ),
      )
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue
        await client.query('BEGIN')
        try {
          await client.query(`SET LOCAL search_path TO "${schema}"`)
          await client.query(m.sql)
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ])
          await client.query('COMMIT')
          applied.push(m.version)
        } catch (error) {
          await client.query('ROLLBACK')
          throw new Error(`migration ${m.version} (${m.name}) failed: ${(error as Error).message}`)
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [
        `feishu-warroom:migrate:${schema}`,
      ])
    }
  } finally {
    client.release()
  }
  return applied
}
