// Products and their tiers (policies).
import { sdk } from '../sdk'
import { admin, answer, commaList, sats } from '../utils'

const { InputSpec, Value } = sdk

const slug = (name: string, description: string) =>
  Value.text({
    name,
    description,
    required: true,
    default: null,
    minLength: 1,
    maxLength: 64,
    patterns: [
      {
        regex: '^[a-z0-9][a-z0-9-]*$',
        description: 'Lower-case letters, digits and dashes, starting with a letter or digit.',
      },
    ],
  })

export const createProduct = sdk.Action.withInput(
  'create-product',
  {
    name: 'Create product',
    description: 'A product you sell licenses for, with its price in satoshis.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Catalog',
    visibility: 'enabled',
  },
  InputSpec.of({
    slug: slug('Slug', 'The product in URLs and API calls: /buy/<slug>.'),
    name: Value.text({ name: 'Name', required: true, default: null, minLength: 1, maxLength: 200 }),
    price_sats: Value.number({
      name: 'Price (sats)',
      description: 'What a license costs when its tier does not set its own price.',
      required: true,
      default: null,
      min: 0,
      integer: true,
    }),
    description: Value.textarea({ name: 'Description', required: false, default: null, maxLength: 2000 }),
  }),
  async () => null,
  async ({ input }) => {
    const p = await admin('POST', '/v1/admin/products', {
      slug: input.slug,
      name: input.name,
      price_sats: input.price_sats,
      ...(input.description ? { description: input.description } : {}),
    })
    return answer(
      'Product created',
      `${p.name} (${p.slug}) at ${sats(p.price_sats)}. Add a tier with "Create policy".`,
      { value: p.id },
    )
  },
)

export const createPolicy = sdk.Action.withInput(
  'create-policy',
  {
    name: 'Create policy',
    description: 'A tier of a product: how long a license lasts, how many machines, which features.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Catalog',
    visibility: 'enabled',
  },
  InputSpec.of({
    product_slug: slug('Product slug', 'The product this tier belongs to.'),
    slug: slug('Tier slug', 'The tier in URLs and API calls, e.g. pro.'),
    name: Value.text({ name: 'Name', required: true, default: null, minLength: 1, maxLength: 200 }),
    duration_days: Value.number({
      name: 'Duration (days)',
      description: '0 for a license that never expires.',
      required: true,
      default: 365,
      min: 0,
      max: 36500,
      integer: true,
    }),
    max_machines: Value.number({
      name: 'Machines',
      description: 'How many machines one license may activate.',
      required: true,
      default: 1,
      min: 1,
      max: 100000,
      integer: true,
    }),
    entitlements: Value.text({
      name: 'Entitlements',
      description: "Comma-separated features the tier grants (from the product's catalog, if it has one).",
      required: false,
      default: null,
      maxLength: 2000,
    }),
    price_sats: Value.number({
      name: 'Price (sats)',
      description: "Leave empty to use the product's price.",
      required: false,
      default: null,
      min: 0,
      integer: true,
    }),
    is_recurring: Value.toggle({
      name: 'Subscription',
      description: 'Renews every period instead of being bought once.',
      default: false,
    }),
  }),
  async () => null,
  async ({ input }) => {
    const entitlements = commaList(input.entitlements)
    const p = await admin('POST', '/v1/admin/policies', {
      product_slug: input.product_slug,
      slug: input.slug,
      name: input.name,
      duration_seconds: input.duration_days * 86400,
      max_machines: input.max_machines,
      entitlements,
      ...(input.price_sats === null || input.price_sats === undefined
        ? {}
        : { price_sats_override: input.price_sats }),
      is_recurring: input.is_recurring,
    })
    const days = p.duration_seconds ? `${p.duration_seconds / 86400} days` : 'no expiry'
    return answer(
      'Policy created',
      `${p.name} (${p.slug}): ${days}, ${p.max_machines} machine(s)` +
        (p.entitlements.length ? `, ${p.entitlements.join(', ')}` : '') +
        (p.is_recurring ? ', renews' : '') +
        '.',
      { value: p.id },
    )
  },
)
