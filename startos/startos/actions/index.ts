// Every action the package offers, in the order StartOS lists them within their groups.
import { sdk } from '../sdk'
import { setConsolePassword, setOperatorName, showCredentials, showPublicKey } from './general'
import { connectBtcpay, checkBtcpay, connectZaprite, paymentStatus } from './payments'
import { createProduct, createPolicy } from './catalog'
import { createCode, listCodes, disableCode, enableCode } from './codes'
import {
  issueLicense,
  searchLicenses,
  suspendLicense,
  unsuspendLicense,
  revokeLicense,
  importLedger,
} from './licenses'
import { listMachines, freeSeat, registerWebhook, listWebhooks, viewAudit } from './operations'
import { backupNow } from './backup'

export const actions = sdk.Actions.of()
  .addAction(setOperatorName)
  .addAction(showCredentials)
  .addAction(setConsolePassword)
  .addAction(showPublicKey)
  .addAction(viewAudit)
  .addAction(backupNow)
  .addAction(paymentStatus)
  .addAction(connectBtcpay)
  .addAction(checkBtcpay)
  .addAction(connectZaprite)
  .addAction(createProduct)
  .addAction(createPolicy)
  .addAction(issueLicense)
  .addAction(searchLicenses)
  .addAction(suspendLicense)
  .addAction(unsuspendLicense)
  .addAction(revokeLicense)
  .addAction(importLedger)
  .addAction(createCode)
  .addAction(listCodes)
  .addAction(disableCode)
  .addAction(enableCode)
  .addAction(listMachines)
  .addAction(freeSeat)
  .addAction(registerWebhook)
  .addAction(listWebhooks)
