import { contextBridge, ipcRenderer } from 'electron'
import { CHANNELS } from '../ipc/contract'

// window.tessera, generated from the IPC contract: tessera.attempt.update(input)
// invokes channel "attempt.update". Each call resolves an IpcResult; main
// validates every input before acting.
const bridge: Record<string, Record<string, (input?: unknown) => Promise<unknown>>> = {}
for (const channel of CHANNELS) {
  const [group, method] = channel.split('.') as [string, string]
  ;(bridge[group] ??= {})[method] = (input?: unknown) => ipcRenderer.invoke(channel, input)
}
contextBridge.exposeInMainWorld('tessera', bridge)
