import { createCipheriv, createHash, randomBytes } from 'node:crypto'

/**
 * Feishu's event encryption and signatures, shared by the receiver (which
 * checks them) and the sandbox (which produces them, as Feishu does):
 * https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case
 */

/** The inverse, for tests and the sandbox's event delivery. */
export function encryptEvent(plain: string, encryptKey: string): string {
  const key = createHash('sha256').update(encryptKey).digest()
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-256-cbc', key, iv)
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64')
}

/** X-Lark-Signature: hex SHA-256 of timestamp + nonce + encrypt key + the raw body bytes. */
export function signEvent(
  timestamp: string,
  nonce: string,
  encryptKey: string,
  rawBody: Buffer,
): string {
  return createHash('sha256')
    .update(timestamp + nonce + encryptKey)
    .update(rawBody)
    .digest('hex')
}

/**
 * X-Lark-Signature of a legacy card callback: hex SHA-1 of timestamp + nonce +
 * verification token + the raw body (as @larksuiteoapi/node-sdk's
 * checkIsCardEventValidated computes it, over the bytes received).
 */
export function signLegacyCallback(
  timestamp: string,
  nonce: string,
  verificationToken: string,
  rawBody: Buffer,
): string {
  return createHash('sha1')
    .update(timestamp + nonce + verificationToken)
    .update(rawBody)
    .digest('hex')
}
