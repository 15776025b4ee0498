import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { afterRecordingCall, api } from './lib/api'
import { Ceremony, ceremonyContext } from './lib/ceremony.svelte'

// The page's one caller of main: every component reaches main through it.
const ceremony = new Ceremony(api)
afterRecordingCall((channel, ok) => ceremony.recordMayHaveChanged(channel, ok))
// Main is asked where it stands while the page mounts; a failure shows once it has.
ceremony.load().catch(() => undefined)

mount(App, { target: document.getElementById('app')!, context: ceremonyContext(ceremony) })
