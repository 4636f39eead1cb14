// The package's own settings, in the volume beside the database: what the daemon's environment
// is made of. The admin key is not here: the entrypoint keeps it in `admin-api-key`.
import { FileHelper } from '@start9labs/start-sdk'
import { z } from '@start9labs/start-sdk'
import { place } from '../utils'

export const storeShape = z.object({
  operator_name: z.string().nullable().catch(null),
  // A URL the operator chose instead of the one picked from the service interface.
  public_url: z.string().nullable().catch(null),
})

/** The store file, in the data directory `place` names (the volume, or a test's directory). */
export const store = () => FileHelper.json(`${place.dataDir}/store.json`, storeShape)
