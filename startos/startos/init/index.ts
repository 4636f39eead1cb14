// At install and restore: the package's store, and a task that sends the operator to connect a
// payment provider (cleared by the payment actions once one is connected).
import { sdk } from '../sdk'
import { store } from '../fileModels/store'
import { connectTaskId, paymentStatus } from '../actions/payments'

export const initStore = sdk.setupOnInit(async (effects, kind) => {
  if (kind === 'install' || (await store().read().once()) === null)
    await store().merge(effects, { operator_name: null, public_url: null })
  if (kind === 'install' || kind === 'restore')
    await sdk.action.createOwnTask(effects, paymentStatus, 'important', {
      replayId: connectTaskId,
      reason:
        'Connect BTCPay (bitcoin) or Zaprite (cards) so that buyers can pay: run "Connect BTCPay" ' +
        'or "Connect Zaprite", then "Payment providers" to check.',
    })
})
