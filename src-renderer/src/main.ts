import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { afterRecordingCall, api } from './lib/api'
import { Ceremony, ceremonyContext } from './lib/ceremony.svelte'

// The page's one caller of main: every component reaches main through it.
const ceremony = new Ceremony(api)
afterRecordingCall((channel, ok) => ceremony.recordMayHaveChanged(channel, ok))

mount(App, { target: document.getElementById('app')!, context: ceremonyContext(ceremony) })
