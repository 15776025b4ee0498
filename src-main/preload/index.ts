import { contextBridge } from 'electron'

// The typed IPC surface (window.tessera) is generated from the IPC contract;
// until it lands, the renderer learns only that it runs inside the shell.
contextBridge.exposeInMainWorld('tessera', { shell: 'electron' })
