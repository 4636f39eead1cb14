// Discount codes: create, list, disable and enable.
import { sdk } from '../sdk'
import { admin, answer, enc, Json, sats, table, when } from '../utils'

const { InputSpec, Value } = sdk

function describe(c: Json): string {
  switch (c.kind) {
    case 'percent':
      return `${c.amount / 100} % off`
    case 'fixed_sats':
      return `${sats(c.amount)} off`
    case 'set_price':
      return `price ${sats(c.amount)}`
    case 'free_license':
      return 'free license'
    default:
      return c.kind
  }
}

export const createCode = sdk.Action.withInput(
  'create-discount-code',
  {
    name: 'Create discount code',
    description: 'A code buyers type at checkout.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Discount codes',
    visibility: 'enabled',
  },
  InputSpec.of({
    code: Value.text({
      name: 'Code',
      description: 'What buyers type. Letters, digits, dashes and underscores.',
      required: true,
      default: null,
      minLength: 1,
      maxLength: 64,
      patterns: [{ regex: '^[A-Za-z0-9_-]+$', description: 'Letters, digits, dashes and underscores.' }],
    }),
    kind: Value.select({
      name: 'Kind',
      default: 'percent',
      values: {
        percent: 'Percent off',
        fixed_sats: 'Amount off (sats)',
        set_price: 'Fixed price (sats)',
        free_license: 'Free license',
      },
    }),
    amount: Value.number({
      name: 'Amount',
      description: 'Percent (e.g. 10 or 12.5), or satoshis. Ignored for a free license.',
      required: false,
      default: null,
      min: 0,
      integer: false,
    }),
    product_slug: Value.text({
      name: 'Product slug',
      description: 'Only for this product; empty for every product.',
      required: false,
      default: null,
      maxLength: 64,
    }),
    max_uses: Value.number({
      name: 'Uses',
      description: 'How many purchases may use it; empty for no limit.',
      required: false,
      default: null,
      min: 1,
      integer: true,
    }),
  }),
  async () => null,
  async ({ input }) => {
    let amount: number | undefined
    if (input.kind !== 'free_license') {
      if (input.amount === null || input.amount === undefined)
        throw new Error('Give an amount: a percentage, or satoshis.')
      amount = input.kind === 'percent' ? Math.round(input.amount * 100) : Math.round(input.amount)
      if (input.kind === 'percent' && amount > 10000) throw new Error('A percentage is at most 100.')
    }
    const c = await admin('POST', '/v1/admin/discount-codes', {
      code: input.code,
      kind: input.kind,
      ...(amount === undefined ? {} : { amount }),
      ...(input.product_slug ? { product_slug: input.product_slug } : {}),
      ...(input.max_uses ? { max_uses: input.max_uses } : {}),
    })
    return answer('Discount code created', `${c.code}: ${describe(c)}.`, { value: c.code })
  },
)

export const listCodes = sdk.Action.withoutInput(
  'list-discount-codes',
  {
    name: 'List discount codes',
    description: 'Every code with its discount, uses and state.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Discount codes',
    visibility: 'enabled',
  },
  async () => {
    const r = await admin('GET', '/v1/admin/discount-codes?include_inactive=true')
    const codes: Json[] = r.codes ?? []
    if (codes.length === 0) return answer('No discount codes', 'Create one with "Create discount code".')
    const rows = [['CODE', 'DISCOUNT', 'USES', 'STATE', 'EXPIRES']].concat(
      codes.map((c) => [
        c.code,
        describe(c),
        c.max_uses ? `${c.uses}/${c.max_uses}` : String(c.uses),
        c.active ? 'active' : 'disabled',
        when(c.expires_at),
      ]),
    )
    return answer(`${codes.length} discount code(s)`, table(rows))
  },
)

/** The code's id from what the operator typed (the code itself, any case). */
async function codeId(code: string): Promise<Json> {
  const r = await admin('GET', '/v1/admin/discount-codes?include_inactive=true')
  const found = (r.codes ?? []).find((c: Json) => c.code.toLowerCase() === code.trim().toLowerCase())
  if (!found) throw new Error(`There is no discount code "${code.trim()}".`)
  return found
}

const setActive = (id: 'disable-discount-code' | 'enable-discount-code', active: boolean) =>
  sdk.Action.withInput(
    id,
    {
      name: active ? 'Enable discount code' : 'Disable discount code',
      description: active
        ? 'Lets buyers use a disabled code again.'
        : 'Stops a code from being used. Purchases already made keep their discount.',
      warning: null,
      allowedStatuses: 'only-running',
      group: 'Discount codes',
      visibility: 'enabled',
    },
    InputSpec.of({
      code: Value.text({ name: 'Code', required: true, default: null, minLength: 1, maxLength: 64 }),
    }),
    async () => null,
    async ({ input }) => {
      const c = await codeId(input.code)
      await admin('PATCH', `/v1/admin/discount-codes/${enc(c.id)}/active`, { active })
      return answer(active ? 'Code enabled' : 'Code disabled', `${c.code} is ${active ? 'active' : 'disabled'}.`)
    },
  )

export const disableCode = setActive('disable-discount-code', false)
export const enableCode = setActive('enable-discount-code', true)
