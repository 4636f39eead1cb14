// A recording stand-in for StartOS's effects: every call the package makes is kept with its
// arguments and answered with null, except the few answers the actions read (a new event id per
// action run, so that the SDK's getInput/run pairing works; installed packages; interfaces).
import { T } from '@start9labs/start-sdk'

export type Call = { path: string; args: unknown[] }

export function recordingEffects(answers: Record<string, (...args: unknown[]) => unknown> = {}) {
  const calls: Call[] = []
  const make = (path: string): unknown =>
    new Proxy(() => {}, {
      get(_t, prop) {
        if (typeof prop === 'symbol') return undefined
        // Not a promise, not inside a reactive read, and not a StartOS connection.
        if (path === '' && (prop === 'then' || prop === 'constRetry')) return undefined
        if (path === '' && prop === 'eventId') return eventId
        if (path === '' && prop === 'isInContext') return true
        return make(path ? `${path}.${prop}` : prop)
      },
      apply(_t, _this, args) {
        calls.push({ path, args })
        const answer = answers[path]
        return Promise.resolve(answer ? answer(...args) : null)
      },
    })
  let eventId = 'event-0'
  let events = 0
  const effects = make('') as T.Effects
  return {
    effects,
    calls,
    /** A new event: what StartOS does before it asks for an action's input and runs it. */
    newEvent() {
      eventId = `event-${++events}`
    },
    calledWith(path: string) {
      return calls.filter((c) => c.path === path).map((c) => c.args)
    },
  }
}
