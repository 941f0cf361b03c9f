import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConnectorSettings } from '../src/index'

describe('loadConnectorSettings', () => {
  it('has defaults', () => {
    expect(loadConnectorSettings({})).toEqual({
      filesRoot: resolve('.data/import-files'),
      allowPrivate: false,
      fetchTimeoutMs: 300_000,
      fetchMaxBytes: 1024 * 1024 * 1024,
    })
  })

  it('reads each variable', () => {
    expect(
      loadConnectorSettings({
        IMPORT_FILES_ROOT: '/srv/imports',
        FETCH_ALLOW_PRIVATE: '10.8.0.0/16, fd00::/8',
        FETCH_TIMEOUT_MS: '5000',
        FETCH_MAX_BYTES: '1000',
      }),
    ).toEqual({
      filesRoot: '/srv/imports',
      allowPrivate: ['10.8.0.0/16', 'fd00::/8'],
      fetchTimeoutMs: 5000,
      fetchMaxBytes: 1000,
    })
    expect(loadConnectorSettings({ FETCH_ALLOW_PRIVATE: 'true' }).allowPrivate).toBe(true)
    expect(loadConnectorSettings({ FETCH_ALLOW_PRIVATE: 'false' }).allowPrivate).toBe(false)
  })

  it('refuses bad values, naming the variable', () => {
    expect(() => loadConnectorSettings({ FETCH_ALLOW_PRIVATE: 'intranet' })).toThrow(/FETCH_ALLOW_PRIVATE/)
    expect(() => loadConnectorSettings({ FETCH_TIMEOUT_MS: '-1' })).toThrow(/FETCH_TIMEOUT_MS/)
    expect(() => loadConnectorSettings({ FETCH_MAX_BYTES: '1e3x' })).toThrow(/FETCH_MAX_BYTES/)
  })
})
