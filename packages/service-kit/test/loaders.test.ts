import { describe, expect, it } from 'vitest'
import { groupedLoader, thenNow, uniqueLoader } from '../src/loaders'

interface Row {
  id: string
  parent: string
}

function rows(all: Row[]) {
  const asked: string[][] = []
  const fetch = async (keys: readonly string[]) => {
    asked.push([...keys])
    return all.filter((r) => keys.includes(r.id))
  }
  return { asked, fetch }
}

describe('SettledLoader', () => {
  it('answers primed keys and finished batches without a promise, the rest as load does', async () => {
    const source = rows([
      { id: 'a', parent: 'p' },
      { id: 'b', parent: 'p' },
    ])
    const loader = uniqueLoader(source.fetch, (r) => r.id)
    loader.prime('x', { id: 'x', parent: 'q' })
    loader.prime('none', null)
    expect(loader.loadNow('x')).toEqual({ id: 'x', parent: 'q' })
    expect(loader.loadNow('none')).toBeNull()
    const pending = loader.loadNow('a')
    expect(pending).toBeInstanceOf(Promise)
    expect(loader.loadNow('b')).toBeInstanceOf(Promise)
    expect(await pending).toEqual({ id: 'a', parent: 'p' })
    // The batch settled: its keys (a missing one too) are plain values now, and nothing is asked again.
    expect(loader.loadNow('b')).toEqual({ id: 'b', parent: 'p' })
    expect(loader.loadNow('a')).toBe(await loader.load('a'))
    expect(source.asked).toEqual([['a', 'b']])
    expect(await loader.loadNow('gone')).toBeNull()
    expect(loader.loadNow('gone')).toBeNull()
  })

  it('keeps the first value a key gets, as DataLoader does', async () => {
    const source = rows([{ id: 'a', parent: 'db' }])
    const loader = uniqueLoader(source.fetch, (r) => r.id)
    loader.prime('x', { id: 'x', parent: 'first' })
    loader.prime('x', { id: 'x', parent: 'second' })
    expect(loader.loadNow('x')).toEqual({ id: 'x', parent: 'first' })
    expect(await loader.load('x')).toEqual({ id: 'x', parent: 'first' })
    // Loaded first, primed while its batch is pending: the batch's value stays, for load and loadNow alike.
    const loading = loader.load('a')
    loader.prime('a', { id: 'a', parent: 'primed' })
    expect(loader.loadNow('a')).toBeInstanceOf(Promise)
    expect(await loading).toEqual({ id: 'a', parent: 'db' })
    expect(loader.loadNow('a')).toEqual({ id: 'a', parent: 'db' })
    // Cleared, a key is asked again.
    loader.clear('a')
    expect(loader.loadNow('a')).toBeInstanceOf(Promise)
    loader.clearAll()
    expect(loader.loadNow('x')).toBeInstanceOf(Promise)
    expect(await loader.loadNow('x')).toBeNull()
  })

  it('answers a failed batch as load does: rejected, never settled', async () => {
    const loader = groupedLoader<string, Row>(
      async () => {
        throw new Error('database down')
      },
      (r) => r.parent,
    )
    await expect(loader.loadNow('p')).rejects.toThrow('database down')
    expect(loader.loadNow('p')).toBeInstanceOf(Promise)
    await expect(loader.loadNow('p')).rejects.toThrow('database down')
    loader.prime('q', new Error('refused'))
    await expect(loader.loadNow('q')).rejects.toThrow('refused')
  })

  it('thenNow maps a value now and a promise when it settles', async () => {
    expect(thenNow(2, (n) => n * 3)).toBe(6)
    const later = thenNow(Promise.resolve(2), (n) => n * 3)
    expect(later).toBeInstanceOf(Promise)
    expect(await later).toBe(6)
  })
})
