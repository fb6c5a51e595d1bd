/** The CLI's help texts: `warroom --help` and `warroom <command> --help`. */

export const USAGE = `Usage: warroom <command> [options]     (from a checkout: npx warroom …)

Commands:
  serve     Run the receiver (Alertmanager, Grafana, generic webhooks, Feishu events).
            --sandbox (or npm start) runs it against the built-in Feishu sandbox.
  notify    Open, update or resolve an incident from flags or a JSON file.
  check     Check the config, the Feishu credentials and permissions.
  timeline  Print an incident chat's timeline.
  oncall    Print who is on call and the next handoffs.

Run warroom <command> --help for its options.
Environment: FEISHU_APP_ID FEISHU_APP_SECRET FEISHU_DOMAIN FEISHU_ENCRYPT_KEY
             FEISHU_VERIFICATION_TOKEN WARROOM_WEBHOOK_TOKEN WARROOM_DATA_DIR
             WARROOM_DATABASE_URL WARROOM_DATABASE_SCHEMA WARROOM_SANDBOX PORT`

/** Each command's own help, printed by `warroom <command> --help`. */
export const HELP: Record<string, string> = {
  serve: `Usage: warroom serve [--config FILE] [--host HOST] [--port PORT] [--sandbox]

Runs the receiver: POST /alertmanager, /grafana, /incidents; Feishu events at /feishu/events.
With --sandbox (or WARROOM_SANDBOX=1, or no config and no credentials at all) it runs against
the built-in Feishu sandbox (page at /sandbox, on 127.0.0.1 unless --host says otherwise).
A config or a database without Feishu credentials is an error, never a silent sandbox.

  --config FILE   YAML config (see README); secrets may come from the environment
  --sandbox       use the built-in Feishu sandbox (never with a database)
  --host HOST     address to listen on (default: server.host, 127.0.0.1)
  --port PORT     port (default: the PORT environment variable, then server.port, 8080)
  --help          show this help`,
  notify: `Usage: warroom notify --file FILE|-  [--config FILE] [--data-dir DIR]
       warroom notify --key K --title T [--status firing|resolved] [--severity S]
                      [--summary S] [--member ID]... [--label NAME=VALUE]...
                      [--link LABEL=URL]... [--field NAME=VALUE]... [--config FILE]
       warroom notify --change --title T [--label NAME=VALUE]... [--link LABEL=URL]...
                      [--source S] [--receiver URL]

Opens, updates or resolves one incident and prints the result as JSON. The routes of
--config apply to its labels, as in warroom serve. A resolution keeps what the incident had.
Exit code: 0 done, 1 Feishu refused, 2 bad input, 3 the war room opened with nobody in it.

  --data-dir DIR  where incidents are remembered between runs (default
                  $XDG_STATE_HOME/feishu-warroom/notify); a key not found there is looked up in Feishu
  --stateless     remember nothing locally: find the chat in Feishu by its marker (CI runners)
  --change        record a change (a deploy) instead: incidents opening after it that share its
                  service/app/component label list it on their card
  --receiver URL  with --change: record it at a running receiver (its /v2/change/enqueue, with
                  WARROOM_WEBHOOK_TOKEN or auth.bearer_token) rather than in --data-dir
  --help          show this help`,
  check: `Usage: warroom check [--config FILE]

Checks the config, the Feishu credentials, the permissions that can be probed without side
effects, and grafana.test_chat_id. Exit code 0 when everything works, 1 otherwise.

  --help          show this help`,
  oncall: `Usage: warroom oncall [<schedule>] [--at TIME] [--config FILE]

Prints who is on call in each schedule of the config (or the one named), at TIME (ISO 8601
with an offset; default now), and the next three handoffs, in the schedule's time zone.

  --help          show this help`,
  timeline: `Usage: warroom timeline <chat-id> [--json] [--config FILE] [--data-dir DIR]

Prints an incident chat's timeline (every message merged with the incident's events and the
key figures) as Markdown, or JSON with --json.

  --help          show this help`,
}
