import { z } from 'zod'
import { duration } from './duration.js'

/** `review:` what the post-incident review produces beyond the timeline and the summary. */
export const ReviewSchema = z
  .strictObject({
    /** A post-mortem document: at every resolution (auto), on /postmortem (command), or never. */
    document: z.enum(['auto', 'command', 'off']).default('command'),
    /** The folder the documents go to (a folder the app owns); the app's own space without it. */
    folder_token: z.string().min(1).optional(),
    /** Dissolve a resolved war room this long after its review was saved (0: never). */
    dissolve_after: duration.default(0),
  })
  .prefault({})
