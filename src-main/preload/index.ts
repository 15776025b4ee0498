import { contextBridge, ipcRenderer } from 'electron'
import { channelCalls } from '../ipc/channels'

// window.tessera, built from the IPC channel list: tessera.attempt.update(input)
// invokes channel "attempt.update". Each call resolves an IpcResult; main
// validates every input before acting.
contextBridge.exposeInMainWorld(
  'tessera',
  channelCalls((channel) => (input?: unknown) => ipcRenderer.invoke(channel, input)),
)
