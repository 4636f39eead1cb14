// Where BTCPay is, when the optional dependency is installed: the address keysat-serve calls it
// at (the bridge between containers) and the one the operator's browser opens it at.
import { T } from '@start9labs/start-sdk'
import { sdk } from './sdk'
import { pickPublicUrl } from './publicUrl'

export const btcpayId = 'btcpayserver'

export async function btcpayAddresses(
  effects: T.Effects,
): Promise<{ daemonUrl: string; browserUrl: string | null } | null> {
  const installed = await sdk.getInstalledPackages(effects)
  if (!installed.includes(btcpayId)) return null
  // BTCPay's web interface, whatever its package calls its host: the one of type 'ui'.
  const interfaces = await effects.listServiceInterfaces({
    packageId: btcpayId,
    callback: effects.constRetry,
  })
  const ui = Object.values(interfaces).find((i) => i.type === 'ui')
  if (!ui) return null
  const { hostId, internalPort } = ui.addressInfo
  const bridge = await sdk.host
    .getBridgeAddress(effects, { hostId, packageId: btcpayId, internalPort })
    .const()
  if (!bridge) return null
  const host = await sdk.host.get(effects, { hostId, packageId: btcpayId }).const()
  const filled = host?.bindings[internalPort]?.interfaces[ui.id]?.addressInfo
  const browserUrl = filled ? pickPublicUrl(filled.format(), filled.public.format()) : null
  return { daemonUrl: `http://${bridge}`, browserUrl }
}
