import { channelCalls, UNRECORDED_CHANNELS, type Channel, type IpcResult, type TesseraApi } from '../../../src-main/ipc/channels'
import { ApiError } from './api-error'

/** Carries one call to main, whatever the transport: a channel and its input, answered by an IpcResult. */
export type Invoke = (channel: Channel, input: unknown) => Promise<IpcResult<unknown>>

/**
 * The renderer's client, built from the IPC channel list: one method per channel
 * (`api.attempt.update(input)`), resolving the value or throwing the refusal as
 * an ApiError. A method the list does not name does not exist. `recorded` is
 * told of every answered call (refused or not) that may have written a line
 * of the ceremony record, and whether main accepted it.
 */
export function createApi(invoke: Invoke, recorded?: (channel: Channel, ok: boolean) => void): TesseraApi {
  return channelCalls((channel) => async (input?: unknown) => {
    const result = await invoke(channel, input)
    if (!UNRECORDED_CHANNELS.has(channel)) recorded?.(channel, result.ok)
    if (!result.ok) throw new ApiError(result.error.code, result.error.message, result.error.detail)
    return result.value
  }) as unknown as TesseraApi
}
