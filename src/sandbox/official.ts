/**
 * Feishu's official request schemas (reference/feishu-schemas.json, JSON
 * Schema converted from the zod definitions in @larksuiteoapi/lark-mcp), used
 * to refuse what Feishu would refuse: unknown or ill-typed query parameters
 * and body fields, missing required ones, values outside an enum. The answer
 * is Feishu's own: HTTP 400, code 99992402 "field validation failed", with
 * `field_violations` naming each field.
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'

interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
}

interface OfficialTool {
  method: string
  path: string
  description: string
  schema: { data?: JsonSchema; params?: JsonSchema; path?: JsonSchema }
}

const FILE = JSON.parse(
  readFileSync(new URL('./reference/feishu-schemas.json', import.meta.url), 'utf8'),
) as { source: string; tools: Record<string, OfficialTool> }

/** Where the schemas come from (package and version). */
export const OFFICIAL_SOURCE = FILE.source
export const OFFICIAL_TOOLS: Readonly<Record<string, OfficialTool>> = FILE.tools

export interface FieldViolation {
  field: string
  description: string
}

const compiled = new Map<string, z.ZodType>()
function validator(tool: string, part: 'data' | 'params' | 'path'): z.ZodType | undefined {
  const id = `${tool}|${part}`
  if (!compiled.has(id)) {
    const schema = OFFICIAL_TOOLS[tool]?.schema[part]
    if (!schema) return undefined
    compiled.set(id, z.fromJSONSchema(schema as never))
  }
  return compiled.get(id)
}

/**
 * Parameters Feishu documents that lark-mcp 0.5.1's schemas do not list yet:
 * `card_msg_content_type` on the message list and get (Lark's CLI sends it).
 */
const DOCUMENTED_EXTRAS: Record<string, string[]> = {
  'im.v1.message.list': ['card_msg_content_type'],
  'im.v1.message.get': ['card_msg_content_type'],
}

/** Query strings as the types the schema gives them (Feishu parses them so). */
function typedQuery(query: URLSearchParams, schema: JsonSchema | undefined) {
  const out: Record<string, unknown> = {}
  for (const key of new Set(query.keys())) {
    const type = schema?.properties?.[key]?.type
    const values = query.getAll(key)
    const one = values[values.length - 1] ?? ''
    if (type === 'array') out[key] = values
    else if (type === 'number' || type === 'integer')
      out[key] = /^-?\d+(\.\d+)?$/.test(one) ? Number(one) : one
    else if (type === 'boolean') out[key] = one === 'true' ? true : one === 'false' ? false : one
    else out[key] = one
  }
  return out
}

/** Feishu names the field alone (`receive_id_type`), whatever part of the request it is in. */
function violations(result: ReturnType<z.ZodType['safeParse']>, part: string): FieldViolation[] {
  if (result.success) return []
  return result.error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.')
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined]
    return keys.map((key) => ({
      field: [path, key].filter(Boolean).join('.') || part,
      description: key ? `unknown field ${key}` : issue.message,
    }))
  })
}

/**
 * Every way a request differs from the official schema of `tool`. `body` is
 * the parsed JSON body, or undefined for none (multipart bodies are checked
 * by the handler).
 */
export function checkRequest(
  tool: string,
  request: { query: URLSearchParams; params: Record<string, string>; body: unknown },
): FieldViolation[] {
  const official = OFFICIAL_TOOLS[tool]
  if (!official) return []
  const out: FieldViolation[] = []
  const query = typedQuery(request.query, official.schema.params)
  for (const extra of DOCUMENTED_EXTRAS[tool] ?? []) delete query[extra]
  const params = validator(tool, 'params')
  if (params) out.push(...violations(params.safeParse(query), 'query'))
  else
    for (const key of Object.keys(query))
      out.push({ field: `query.${key}`, description: `unknown query parameter ${key}` })
  const path = validator(tool, 'path')
  if (path) out.push(...violations(path.safeParse(request.params), 'path'))
  const data = validator(tool, 'data')
  if (data) out.push(...violations(data.safeParse(request.body ?? {}), 'body'))
  else if (request.body !== undefined && Object.keys(request.body as object).length > 0)
    out.push({ field: 'body', description: 'this call takes no body' })
  return out
}
