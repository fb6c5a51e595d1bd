import { errorMessage } from '../../util/errors.js'
import { imageFormat } from '../cards.js'
import { ApiError, type Handler } from '../common.js'
import type { SandboxCore } from '../core.js'
import { type Part, parseMultipart } from '../multipart.js'
import type { RouteName } from '../routes.js'
import { newId } from '../state.js'

/** Image upload (multipart, as @larksuiteoapi/node-sdk sends it). */
export function imageHandlers(sb: SandboxCore): Partial<Record<RouteName, Handler>> {
  return {
    uploadImage: async ({ req, body }) => {
      const contentType = req.headers['content-type'] ?? ''
      if (!contentType.startsWith('multipart/form-data'))
        throw new ApiError(
          400,
          234001,
          'Invalid request param: the body must be multipart/form-data.',
        )
      let form: Map<string, Part>
      try {
        form = parseMultipart(body, contentType)
      } catch (error) {
        throw new ApiError(
          400,
          234001,
          `Invalid request param: malformed multipart body (${errorMessage(error)}).`,
        )
      }
      const imageType = form.get('image_type')?.data.toString('utf8')
      if (imageType !== 'message' && imageType !== 'avatar')
        throw new ApiError(
          400,
          234001,
          'Invalid request param: image_type must be message or avatar.',
        )
      const bytes = form.get('image')?.data
      if (!bytes) throw new ApiError(400, 234001, 'Invalid request param: image is required.')
      if (bytes.length === 0) throw new ApiError(400, 234010, 'File size is zero.')
      if (bytes.length > 10 * 1024 * 1024)
        throw new ApiError(400, 234006, 'The image exceeds the 10 MB limit.')
      const format = imageFormat(bytes)
      if (!format) throw new ApiError(400, 234011, 'Unsupported image format.')
      const key = newId('img_v3_')
      sb.state.images.set(key, {
        image_key: key,
        image_type: imageType,
        bytes,
        format,
        app_id: sb.appId,
      })
      return { image_key: key }
    },
  }
}
