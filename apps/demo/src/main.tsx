/** @module Entry point: starts the chat model against the broker that served this page, and renders the app. */
import { render } from 'preact'
import { App } from './app.js'
import { ChatModel } from './chat-model.js'
import { takeSessionToken } from './session-token.js'
import './styles.css'

const model = new ChatModel()
render(<App model={model} />, document.getElementById('app')!)
// The broker that served the page is the one to talk to (ws://host:port/ws); ?broker=ws://… overrides it.
const broker = new URLSearchParams(location.search).get('broker') ?? location.origin.replace(/^http/, 'ws')
// A broker with authentication wants a token: `#token=…` in the URL or the sign-in form (session-token.ts).
model.start(broker, takeSessionToken()).catch((e: unknown) => {
  console.error(e)
  model.notice('error', `The app could not start: ${e instanceof Error ? e.message : String(e)}`)
})
