// Licenses: issue, find, suspend, unsuspend, revoke, and import keys signed offline.
import { sdk } from '../sdk'
import { admin, answer, call, enc, Json, refusal, table, when } from '../utils'

const { InputSpec, Value } = sdk

const uuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

export const issueLicense = sdk.Action.withInput(
  'issue-license',
  {
    name: 'Issue license',
    description: 'Signs a license key for a buyer without a purchase (a gift, a reseller, support).',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Licenses',
    visibility: 'enabled',
  },
  InputSpec.of({
    product_slug: Value.text({ name: 'Product slug', required: true, default: null, minLength: 1, maxLength: 64 }),
    policy_slug: Value.text({
      name: 'Policy slug',
      description: "The tier; empty for the product's defaults.",
      required: false,
      default: null,
      maxLength: 64,
    }),
    buyer_email: Value.text({
      name: 'Buyer email',
      description: 'Lets the buyer recover the key, and you find it.',
      required: false,
      default: null,
      inputmode: 'email',
      maxLength: 320,
    }),
  }),
  async () => null,
  async ({ input }) => {
    const l = await admin('POST', '/v1/admin/licenses', {
      product_slug: input.product_slug,
      ...(input.policy_slug ? { policy_slug: input.policy_slug } : {}),
      ...(input.buyer_email ? { buyer_email: input.buyer_email.trim() } : {}),
    })
    return answer(
      'License issued',
      `License ${l.license_id}: ${l.max_machines} machine(s), ` +
        `${l.expires_at ? `expires ${when(l.expires_at)}` : 'never expires'}. Send the buyer this key:`,
      { value: l.license_key },
    )
  },
)

function licenseRows(list: Json[]): string {
  return table(
    [['ID', 'PRODUCT', 'TIER', 'STATUS', 'BUYER', 'EXPIRES']].concat(
      list.map((l) => [
        l.id,
        l.product_slug ?? '-',
        l.policy_slug ?? '-',
        l.status,
        l.buyer_email ?? '-',
        when(l.expires_at),
      ]),
    ),
  )
}

export const searchLicenses = sdk.Action.withInput(
  'search-licenses',
  {
    name: 'Search licenses',
    description: 'Finds licenses by buyer email or by invoice id.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Licenses',
    visibility: 'enabled',
  },
  InputSpec.of({
    query: Value.text({
      name: 'Email or invoice id',
      required: true,
      default: null,
      minLength: 1,
      maxLength: 320,
    }),
  }),
  async () => null,
  async ({ input }) => {
    const q = input.query.trim()
    const field = q.includes('@') ? 'buyer_email' : 'invoice_id'
    const r = await admin('GET', `/v1/admin/licenses/search?${field}=${enc(q)}`)
    const list: Json[] = r.licenses ?? []
    if (list.length === 0) return answer('No license found', `Nothing matches ${field.replace('_', ' ')} "${q}".`)
    return answer(`${list.length} license(s)`, licenseRows(list))
  },
)

const change = (op: 'suspend' | 'unsuspend' | 'revoke') =>
  sdk.Action.withInput(
    `${op}-license`,
    {
      name: { suspend: 'Suspend license', unsuspend: 'Unsuspend license', revoke: 'Revoke license' }[op],
      description: {
        suspend: 'Stops a license from validating until it is unsuspended (a chargeback, a dispute).',
        unsuspend: 'Lets a suspended license validate again.',
        revoke: 'Ends a license for good. It cannot be undone.',
      }[op],
      warning: op === 'revoke' ? 'A revoked license can never validate again.' : null,
      allowedStatuses: 'only-running',
      group: 'Licenses',
      visibility: 'enabled',
    },
    InputSpec.of({
      license_id: Value.text({
        name: 'License id',
        description: 'From "Search licenses" (a UUID).',
        required: true,
        default: null,
        minLength: 36,
        maxLength: 36,
      }),
      reason: Value.text({
        name: 'Reason',
        description: 'Kept with the license and in the audit log.',
        required: false,
        default: null,
        maxLength: 500,
      }),
    }),
    async () => null,
    async ({ input }) => {
      const id = input.license_id.trim()
      if (!uuid.test(id)) throw new Error(`"${id}" is not a license id (a UUID from "Search licenses").`)
      await admin('POST', `/v1/admin/licenses/${enc(id)}/${op}`, input.reason ? { reason: input.reason } : {})
      const done = { suspend: 'suspended', unsuspend: 'active again', revoke: 'revoked' }[op]
      return answer(`License ${done}`, `License ${id} is ${done}.`)
    },
  )

export const suspendLicense = change('suspend')
export const unsuspendLicense = change('unsuspend')
export const revokeLicense = change('revoke')

export const importLedger = sdk.Action.withInput(
  'import-ledger',
  {
    name: 'Import signed keys',
    description:
      'Records licenses signed offline by keysat-issue (its ledger, one JSON line per key) so that ' +
      'they validate online. Keys must be signed by this server\'s key.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Licenses',
    visibility: 'enabled',
  },
  InputSpec.of({
    ledger: Value.textarea({
      name: 'Ledger',
      description: 'The contents of the ledger file keysat-issue bulk wrote.',
      required: true,
      default: null,
      minLength: 2,
      maxLength: 8_000_000,
    }),
    keep_going: Value.toggle({
      name: 'Import the good lines when some are bad',
      description: 'Off: a bad line imports nothing.',
      default: false,
    }),
  }),
  async () => null,
  async ({ input }) => {
    const r = await call(
      'POST',
      `/v1/admin/licenses/import${input.keep_going ? '?keep_going=true' : ''}`,
      input.ledger.endsWith('\n') ? input.ledger : `${input.ledger}\n`,
      'application/x-ndjson',
    )
    const problems: { line: number; message: string }[] = r.data?.problems ?? []
    const listed = problems.map((p) => `line ${p.line}: ${p.message}`).join('\n')
    if (r.status !== 200) {
      if (problems.length === 0) throw refusal(r.status, r.data, r.text)
      throw new Error(`${r.data.message}\n${listed}`)
    }
    const d = r.data
    return answer(
      'Ledger imported',
      `${d.records} record(s): ${d.inserted} new, ${d.unchanged} already there` +
        (d.problem_count ? `, ${d.problem_count} skipped:\n${listed}` : '.'),
    )
  },
)
