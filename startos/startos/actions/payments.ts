// Payment providers: BTCPay's one-click connect, Zaprite's key, and the status that clears the
// install task once either is connected.
import { T } from '@start9labs/start-sdk'
import { sdk } from '../sdk'
import { admin, answer } from '../utils'

const { InputSpec, Value } = sdk

/** The install task's id: created at install and restore, cleared once a provider is connected. */
export const connectTaskId = 'connect-payment-provider'

async function clearConnectTask(effects: T.Effects) {
  await sdk.action.clearTask(effects, connectTaskId)
}

export const connectBtcpay = sdk.Action.withoutInput(
  'connect-btcpay',
  {
    name: 'Connect BTCPay',
    description:
      'Links your BTCPay Server store in one click: open the link, press Authorize in BTCPay, ' +
      'and Keysat finds the store and registers its webhook itself.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Payments',
    visibility: 'enabled',
  },
  async () => {
    const r = await admin('POST', '/v1/admin/btcpay/connect', { label: 'BTCPay on StartOS' })
    return answer(
      'Authorize Keysat in BTCPay',
      'Open this link in your browser and press Authorize. The link works once, for 30 minutes. ' +
        'Then run "Check BTCPay" to see the connected store.',
      { value: r.authorize_url },
    )
  },
)

export const checkBtcpay = sdk.Action.withoutInput(
  'check-btcpay',
  {
    name: 'Check BTCPay',
    description: 'Whether a BTCPay store is connected, which one, and its webhook.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Payments',
    visibility: 'enabled',
  },
  async ({ effects }) => {
    const r = await admin('GET', '/v1/admin/btcpay/status')
    if (!r.connected)
      return answer(
        'BTCPay is not connected',
        'Run "Connect BTCPay" and press Authorize in BTCPay; then run this again.',
      )
    await clearConnectTask(effects)
    const lines = [
      `Label: ${r.label ?? '-'}`,
      `Store id: ${r.store_id ?? '-'}`,
      `Webhook: ${r.webhook_id ?? 'not registered'}`,
      `BTCPay address: ${r.base_url ?? '-'}`,
    ]
    return answer('BTCPay is connected', lines.join('\n'))
  },
)

export const connectZaprite = sdk.Action.withInput(
  'connect-zaprite',
  {
    name: 'Connect Zaprite',
    description:
      'Takes card (and other) payments through Zaprite. Keysat checks the key with Zaprite, then ' +
      'shows the webhook address to paste into Zaprite.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Payments',
    visibility: 'enabled',
  },
  InputSpec.of({
    api_key: Value.text({
      name: 'Zaprite API key',
      description: 'Zaprite: Settings, API keys.',
      required: true,
      default: null,
      masked: true,
      minLength: 8,
      maxLength: 500,
    }),
    base_url: Value.text({
      name: 'Zaprite API address',
      description: "Leave empty for Zaprite's own, https://api.zaprite.com.",
      required: false,
      default: null,
      placeholder: 'https://api.zaprite.com',
      maxLength: 500,
    }),
  }),
  async () => null,
  async ({ effects, input }) => {
    const r = await admin('POST', '/v1/admin/zaprite/connect', {
      api_key: input.api_key.trim(),
      label: 'Zaprite on StartOS',
      ...(input.base_url?.trim() ? { base_url: input.base_url.trim() } : {}),
    })
    await clearConnectTask(effects)
    return answer(
      'Zaprite is connected',
      'Paste this address into Zaprite (Settings, Webhooks) so that paid orders reach Keysat. ' +
        'Keep it private: it carries a secret.',
      { value: r.webhook_url, masked: true },
    )
  },
)

export const paymentStatus = sdk.Action.withoutInput(
  'payment-status',
  {
    name: 'Payment providers',
    description: 'Which providers take payments now, and how to connect one.',
    warning: null,
    allowedStatuses: 'only-running',
    group: 'Payments',
    visibility: 'enabled',
  },
  async ({ effects }) => {
    const r = await admin('GET', '/v1/admin/payment-provider/status')
    const providers: { kind?: string; label?: string; id?: string }[] = r.providers ?? []
    if (providers.length === 0)
      return answer(
        'No payment provider yet',
        'Buyers cannot pay until one is connected. Bitcoin: run "Connect BTCPay". Cards: run ' +
          '"Connect Zaprite". Free licenses and 100 % codes work without one.',
      )
    await clearConnectTask(effects)
    const lines = providers.map((p) => `${p.kind ?? 'provider'}: ${p.label ?? p.id ?? ''}`)
    return answer('Payments are connected', lines.join('\n'))
  },
)
