import { lookup as dnsLookup } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { Agent, request } from 'undici'
import { safeUrl } from '../util/url.js'

export interface FetchedImage {
  bytes: Uint8Array
  contentType: string
}

export type ImageFetcher = (url: string) => Promise<FetchedImage>

/** An image the fetcher will not fetch or keep; the message is safe to show (details are logged). */
export class ImageRefused extends Error {}

/**
 * Addresses an incident's image may not point at unless allowed: loopback,
 * private, shared, link-local (cloud metadata), unique-local, multicast and
 * reserved ranges. Anyone who can send a webhook chooses the URL.
 */
const PRIVATE = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6')

/** Allowed destinations from the config: host names, addresses, or CIDRs. */
function allowList(entries: string[]) {
  const hosts = new Set<string>()
  const nets = new BlockList()
  for (const entry of entries) {
    const [addr, bits] = entry.split('/')
    const family = isIP(addr ?? '')
    if (family && bits !== undefined)
      nets.addSubnet(addr!, Number(bits), family === 6 ? 'ipv6' : 'ipv4')
    else if (family) nets.addAddress(addr!, family === 6 ? 'ipv6' : 'ipv4')
    else hosts.add(entry.toLowerCase())
  }
  return { hosts, nets }
}

/** Whether an address may be connected to. IPv4-mapped IPv6 is judged as the IPv4 it carries. */
function addressAllowed(address: string, allow: ReturnType<typeof allowList>): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  const ip = mapped ?? address
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
  if (allow.nets.check(ip, family)) return true
  return !PRIVATE.check(ip, family)
}

/** The image types Feishu takes, told from the first bytes (a server's content-type can lie). */
export function imageTypeOf(bytes: Uint8Array): string | undefined {
  const b = (i: number) => bytes[i] ?? -1
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'image/png'
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'image/jpeg'
  if (b(0) === 0x47 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x38) return 'image/gif'
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57)
    return 'image/webp'
  if (b(0) === 0x42 && b(1) === 0x4d) return 'image/bmp'
  if ((b(0) === 0x49 && b(1) === 0x49) || (b(0) === 0x4d && b(1) === 0x4d)) return 'image/tiff'
  if (b(0) === 0x00 && b(1) === 0x00 && b(2) === 0x01 && b(3) === 0x00) return 'image/x-icon'
  return undefined
}

/**
 * Downloads an image with a size cap and a time limit. Used for Grafana panel
 * renders and other incident images; a failure is reported, never fatal.
 * Private and loopback destinations are refused unless `allow` names them,
 * checked on the address actually connected to (so a DNS answer that changes
 * between check and connect cannot slip through), and what comes back must
 * be an image by its bytes.
 */
export function httpImageFetcher(
  options: { maxBytes?: number; timeoutMs?: number; allow?: string[] } = {},
): ImageFetcher {
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024
  const timeoutMs = options.timeoutMs ?? 5000
  const allow = allowList(options.allow ?? [])
  const lookup: LookupFunction = (hostname, opts, callback) => {
    dnsLookup(hostname, { ...opts, all: false }, (error, address, family) => {
      if (error) return callback(error, '', 0)
      if (!allow.hosts.has(hostname.toLowerCase()) && !addressAllowed(address as string, allow))
        return callback(new ImageRefused('a private or loopback address'), '', 0)
      callback(null, address as string, family)
    })
  }
  const dispatcher = new Agent({
    connect: { timeout: timeoutMs, lookup },
    maxRedirections: 0,
  } as never)
  return async (url) => {
    if (!safeUrl(url)) throw new ImageRefused('not an http(s) URL')
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    // An address in the URL is connected to without a lookup: judge it here.
    if (isIP(host) && !allow.hosts.has(host) && !addressAllowed(host, allow))
      throw new ImageRefused('a private or loopback address')
    const res = await request(url, {
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { accept: 'image/*' },
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new Error(`HTTP ${res.statusCode}`)
    }
    const declared = Number(res.headers['content-length'] ?? 0)
    if (declared > maxBytes) {
      res.body.destroy()
      throw new Error(`larger than ${maxBytes} bytes`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > maxBytes) {
        res.body.destroy()
        throw new Error(`larger than ${maxBytes} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    const bytes = Buffer.concat(chunks)
    const contentType = imageTypeOf(bytes)
    if (!contentType) throw new ImageRefused('not an image')
    return { bytes, contentType }
  }
}
