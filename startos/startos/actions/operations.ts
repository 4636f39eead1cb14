// Machines, webhook endpoints and the audit log.
import { sdk } from '../sdk'
import { admin, answer, commaList, enc, Json, table, when } from '../utils'

const { InputSpec, Value } = sdk

const optional = (name: string, description: string, maxLength = 200) =>
  Value.text({ name, description, required: false, default: null, maxLength })

export const listMachines = sdk.Action.withInput(
  'list-machines',
  {
    name: 'List machines',
    description: 'The machines activated on your licenses, most recently seen first.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Machines',
    visibility: 'enabled',
  },
  InputSpec.of({
    license_id: optional('License id', "Only this license's machines; empty for all.", 36),
    include_inactive: Value.toggle({ name: 'Include freed seats', default: false }),
  }),
  async () => null,
  async ({ input }) => {
    const q = new URLSearchParams({ limit: '200' })
    if (input.license_id?.trim()) q.set('license_id', input.license_id.trim())
    if (input.include_inactive) q.set('include_inactive', 'true')
    const r = await admin('GET', `/v1/admin/machines?${q}`)
    const list: Json[] = r.machines ?? []
    if (list.length === 0) return answer('No machines', 'No machine is activated on these licenses.')
    const rows = [['MACHINE ID', 'LICENSE', 'HOSTNAME', 'LAST SEEN', 'STATE']].concat(
      list.map((m) => [
        m.id,
        m.license_id,
        m.hostname ?? '-',
        when(m.last_heartbeat_at),
        m.active ? 'active' : 'freed',
      ]),
    )
    return answer(`${list.length} machine(s)`, table(rows))
  },
)

export const freeSeat = sdk.Action.withInput(
  'free-seat',
  {
    name: 'Free a seat',
    description: "Deactivates a machine so that the license's seat can be used on another one.",
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Machines',
    visibility: 'enabled',
  },
  InputSpec.of({
    machine_id: Value.text({
      name: 'Machine id',
      description: 'From "List machines".',
      required: true,
      default: null,
      minLength: 1,
      maxLength: 64,
    }),
    reason: optional('Reason', 'Kept in the audit log.', 500),
  }),
  async () => null,
  async ({ input }) => {
    const id = input.machine_id.trim()
    const r = await admin(
      'POST',
      `/v1/admin/machines/${enc(id)}/deactivate`,
      input.reason ? { reason: input.reason } : {},
    )
    return answer('Seat freed', `Machine ${id} is deactivated${r.license_id ? ` (license ${r.license_id})` : ''}.`)
  },
)

export const registerWebhook = sdk.Action.withInput(
  'register-webhook',
  {
    name: 'Register webhook',
    description: 'Sends signed events (license issued, invoice paid, ...) to a URL of yours.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Webhooks',
    visibility: 'enabled',
  },
  InputSpec.of({
    url: Value.text({
      name: 'URL',
      required: true,
      default: null,
      minLength: 8,
      maxLength: 2000,
      inputmode: 'url',
      patterns: [{ regex: '^https?://', description: 'An http:// or https:// URL.' }],
    }),
    events: optional('Events', 'Comma-separated event names; empty for every event.', 2000),
    description: optional('Description', 'A note for you.', 500),
  }),
  async () => null,
  async ({ input }) => {
    const events = commaList(input.events)
    const e = await admin('POST', '/v1/admin/webhook-endpoints', {
      url: input.url.trim(),
      ...(events.length ? { events } : {}),
      ...(input.description ? { description: input.description } : {}),
    })
    return answer(
      'Webhook registered',
      `Events to ${e.url}. Each is signed with this secret (HMAC-SHA256); it is shown only now.`,
      { value: e.secret, masked: true },
    )
  },
)

export const listWebhooks = sdk.Action.withoutInput(
  'list-webhooks',
  {
    name: 'List webhooks',
    description: 'Your webhook endpoints and the events they get.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Webhooks',
    visibility: 'enabled',
  },
  async () => {
    const r = await admin('GET', '/v1/admin/webhook-endpoints')
    const list: Json[] = r.endpoints ?? []
    if (list.length === 0) return answer('No webhooks', 'Register one with "Register webhook".')
    const rows = [['ID', 'URL', 'EVENTS', 'STATE']].concat(
      list.map((e) => [
        e.id,
        e.url,
        (e.events ?? []).length ? e.events.join(',') : 'every event',
        e.active ? 'active' : 'paused',
      ]),
    )
    return answer(`${list.length} webhook(s)`, table(rows))
  },
)

export const viewAudit = sdk.Action.withInput(
  'view-audit-log',
  {
    name: 'View audit log',
    description: 'Who changed what, newest first.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'General',
    visibility: 'enabled',
  },
  InputSpec.of({
    action: optional('Action', 'Only this kind of change, e.g. license.revoke; empty for all.', 100),
    limit: Value.number({
      name: 'Entries',
      required: true,
      default: 50,
      min: 1,
      max: 500,
      integer: true,
    }),
  }),
  async () => null,
  async ({ input }) => {
    const q = new URLSearchParams({ limit: String(input.limit) })
    if (input.action?.trim()) q.set('action', input.action.trim())
    const r = await admin('GET', `/v1/admin/audit?${q}`)
    const list: Json[] = r.entries ?? []
    if (list.length === 0) return answer('No audit entries', 'Nothing has been changed yet.')
    const rows = [['WHEN', 'WHO', 'ACTION', 'TARGET']].concat(
      list.map((e) => [when(e.occurred_at), e.actor_id ?? '-', e.action, e.target_id ?? '-']),
    )
    return answer(`${list.length} audit entries`, table(rows))
  },
)
