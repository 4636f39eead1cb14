// BTCPay is optional: Zaprite alone can take payments. When it is installed, Keysat wants it
// running, since buyers' bitcoin checkouts go through it.
import { sdk } from './sdk'
import { btcpayId } from './btcpay'

export const setDependencies = sdk.setupDependencies(async ({ effects }) => {
  const installed = await sdk.getInstalledPackages(effects)
  if (!installed.includes(btcpayId)) return {}
  return {
    btcpayserver: { kind: 'running', versionRange: '>=1.11.0:0', healthChecks: [] },
  }
})
