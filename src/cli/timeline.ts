import { loadConfig } from '../config/config.js'
import { type Io, parse, UsageError, warRoomFromConfig } from './common.js'

export async function timeline(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values, positionals } = parse('timeline', args, {
    json: { type: 'boolean' },
    'data-dir': { type: 'string' },
  })
  const chatId = positionals[0]
  if (!chatId || !/^oc_\w+$/.test(chatId))
    throw new UsageError('give the incident chat id: warroom timeline oc_… [--json]')
  const config = await loadConfig(values.config, env)
  // The chat is named: its history and marker come from Feishu, so the local state is not used.
  const { client, warroom } = await warRoomFromConfig(config, 'timeline', {
    dataDir: values['data-dir'],
    stateless: values['data-dir'] === undefined,
    env,
  })
  try {
    let buffer = ''
    const figures = await warroom.timeline({ chatId }, [
      {
        format: values.json ? 'json' : 'markdown',
        sink: {
          // Whole lines to the output as they come, so a long chat streams.
          write: (chunk) => {
            buffer += chunk
            const cut = buffer.lastIndexOf('\n')
            if (cut >= 0) {
              io.out(buffer.slice(0, cut))
              buffer = buffer.slice(cut + 1)
            }
          },
        },
      },
    ])
    if (buffer) io.out(buffer)
    if (!figures) {
      io.err(`warroom timeline: ${chatId} is not an incident war room of this app`)
      return 1
    }
    return 0
  } finally {
    await client.close()
  }
}
