// One HTTP port, three interfaces: the API (buyers, SDKs, BTCPay's callback), the BTCPay webhook
// path, and the operator's console.
import { sdk } from './sdk'
import { apiPort } from './publicUrl'

export const setInterfaces = sdk.setupInterfaces(async ({ effects }) => {
  const host = sdk.MultiHost.of(effects, 'main')
  const origin = await host.bindPort(apiPort, { protocol: 'http', preferredExternalPort: 443 })
  const common = { masked: false, schemeOverride: null, username: null, query: {} }
  const api = sdk.createInterface(effects, {
    ...common,
    name: 'API and buy pages',
    id: 'api',
    description: 'The licensing API your software calls, the buy pages, and payment callbacks.',
    type: 'api',
    path: '/',
  })
  const webhook = sdk.createInterface(effects, {
    ...common,
    name: 'BTCPay webhook',
    id: 'btcpay-webhook',
    description: 'Where BTCPay reports payments. "Connect BTCPay" registers it for you.',
    type: 'api',
    path: '/v1/btcpay/webhook',
  })
  const console = sdk.createInterface(effects, {
    ...common,
    name: 'Console',
    id: 'console',
    description: 'The operator console: sales, licenses and settings in a browser.',
    type: 'ui',
    path: '/admin/',
  })
  return [await origin.export([api, webhook, console])]
})
